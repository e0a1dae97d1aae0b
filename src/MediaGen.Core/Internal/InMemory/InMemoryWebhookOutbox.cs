using System.Globalization;
using Microsoft.Extensions.Options;

namespace MediaGen.Internal;

/// <summary>
/// The in-memory <see cref="IWebhookOutbox"/>: the deliveries of this process, gone when it stops. Waiting and leased
/// deliveries are ordered by due time (a lease's expiry is its due time, so an expired lease is simply due again);
/// given-up ones by their expiry, removed by the next call that passes it. At most
/// <see cref="WebhookOptions.QueueCapacity"/> deliveries wait or are leased at once; past it an add is refused. Every
/// call completes synchronously, so a lifecycle step can add under its lock.
/// </summary>
internal sealed class InMemoryWebhookOutbox(IOptions<WebhookOptions> options, TimeProvider timeProvider) : IWebhookOutbox
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly SortedSet<(DateTimeOffset At, long Seq, string Id)> _due = [];
    private readonly SortedSet<(DateTimeOffset At, long Seq, string Id)> _givenUp = [];
    private readonly int _capacity = options.Value.QueueCapacity;
    private long _seq;

    public ValueTask<bool> AddAsync(WebhookDelivery delivery, CancellationToken cancellationToken = default)
    {
        Check(delivery);
        lock (_gate)
        {
            Purge(timeProvider.GetUtcNow());
            if (_entries.ContainsKey(delivery.Id))
            {
                return ValueTask.FromResult(false);
            }

            if (_due.Count >= _capacity)
            {
                throw new QueueUnavailableException($"The in-memory webhook outbox holds {_capacity} deliveries (WebhookOptions.QueueCapacity); delivery '{delivery.Id}' was not added.");
            }

            var entry = new Entry(delivery, delivery.DueAt ?? timeProvider.GetUtcNow(), ++_seq);
            _entries.Add(delivery.Id, entry);
            _due.Add(entry.Key);
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<IReadOnlyList<WebhookDeliveryLease>> LeaseAsync(int maxCount, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(leaseDuration, TimeSpan.Zero);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var now = timeProvider.GetUtcNow();
            Purge(now);
            List<WebhookDeliveryLease>? leases = null;
            while (_due.Count > 0 && (leases?.Count ?? 0) < maxCount && _due.Min is var first && first.At <= now)
            {
                var entry = _entries[first.Id];
                _due.Remove(first);
                entry.Attempts++;
                entry.Token = ++_seq;
                entry.Leased = true;
                entry.At = now + leaseDuration;
                entry.Seq = _seq;
                _due.Add(entry.Key);
                (leases ??= []).Add(new WebhookDeliveryLease
                {
                    Delivery = entry.Delivery,
                    Attempt = entry.Attempts,
                    LastError = entry.LastError,
                    LockedUntil = entry.At,
                    Token = entry.Token.ToString(CultureInfo.InvariantCulture),
                });
            }

            return ValueTask.FromResult<IReadOnlyList<WebhookDeliveryLease>>(leases ?? (IReadOnlyList<WebhookDeliveryLease>)[]);
        }
    }

    public ValueTask<bool> CompleteAsync(WebhookDeliveryLease lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        lock (_gate)
        {
            if (Held(lease) is not { } entry)
            {
                return ValueTask.FromResult(false);
            }

            _due.Remove(entry.Key);
            _entries.Remove(entry.Delivery.Id);
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<bool> RetryAsync(WebhookDeliveryLease lease, DateTimeOffset dueAt, string error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(error);
        lock (_gate)
        {
            if (Held(lease) is not { } entry)
            {
                return ValueTask.FromResult(false);
            }

            _due.Remove(entry.Key);
            entry.Leased = false;
            entry.Token = 0;
            entry.LastError = error;
            entry.At = dueAt;
            entry.Seq = ++_seq;
            _due.Add(entry.Key);
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<bool> GiveUpAsync(WebhookDeliveryLease lease, string error, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentOutOfRangeException.ThrowIfLessThan(retention, TimeSpan.Zero);
        lock (_gate)
        {
            if (Held(lease) is not { } entry)
            {
                return ValueTask.FromResult(false);
            }

            _due.Remove(entry.Key);
            if (retention == TimeSpan.Zero)
            {
                _entries.Remove(entry.Delivery.Id);
                return ValueTask.FromResult(true);
            }

            entry.GivenUp = true;
            entry.Leased = false;
            entry.Token = 0;
            entry.LastError = error;
            entry.At = timeProvider.GetUtcNow() + retention;
            entry.Seq = ++_seq;
            _givenUp.Add(entry.Key);
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<WebhookDeliveryRecord?> GetAsync(string deliveryId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(deliveryId);
        lock (_gate)
        {
            var now = timeProvider.GetUtcNow();
            Purge(now);
            if (!_entries.TryGetValue(deliveryId, out var entry))
            {
                return ValueTask.FromResult<WebhookDeliveryRecord?>(null);
            }

            return ValueTask.FromResult<WebhookDeliveryRecord?>(new WebhookDeliveryRecord
            {
                Delivery = entry.Delivery,
                Status = entry.GivenUp ? WebhookDeliveryStatus.GivenUp : entry.Leased && entry.At > now ? WebhookDeliveryStatus.Leased : WebhookDeliveryStatus.Waiting,
                Attempts = entry.Attempts,
                LastError = entry.LastError,
                DueAt = entry.At,
            });
        }
    }

    /// <summary>How many deliveries wait or are leased; for tests.</summary>
    internal int Count
    {
        get
        {
            lock (_gate)
            {
                return _due.Count;
            }
        }
    }

    internal static void Check(WebhookDelivery delivery)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentException.ThrowIfNullOrEmpty(delivery.Id, nameof(delivery));
        ArgumentException.ThrowIfNullOrEmpty(delivery.JobId, nameof(delivery));
        ArgumentNullException.ThrowIfNull(delivery.Payload, nameof(delivery));
    }

    private Entry? Held(WebhookDeliveryLease lease) =>
        _entries.TryGetValue(lease.Delivery.Id, out var entry)
        && entry.Leased
        && entry.At > timeProvider.GetUtcNow()
        && string.Equals(entry.Token.ToString(CultureInfo.InvariantCulture), lease.Token, StringComparison.Ordinal)
            ? entry
            : null;

    private void Purge(DateTimeOffset now)
    {
        while (_givenUp.Count > 0 && _givenUp.Min is var first && first.At <= now)
        {
            _givenUp.Remove(first);
            _entries.Remove(first.Id);
        }
    }

    private sealed class Entry(WebhookDelivery delivery, DateTimeOffset at, long seq)
    {
        public WebhookDelivery Delivery { get; } = delivery;

        public DateTimeOffset At { get; set; } = at;

        public long Seq { get; set; } = seq;

        public int Attempts { get; set; }

        public long Token { get; set; }

        public bool Leased { get; set; }

        public bool GivenUp { get; set; }

        public string? LastError { get; set; }

        public (DateTimeOffset At, long Seq, string Id) Key => (At, Seq, Delivery.Id);
    }
}
