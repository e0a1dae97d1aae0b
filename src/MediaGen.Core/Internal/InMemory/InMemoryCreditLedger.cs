using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;

namespace MediaGen.Internal;

/// <summary>
/// The in-memory <see cref="ICreditLedger"/>: balances and per-job reservations (open or settled) under one lock. A
/// settled reservation is kept for <see cref="InMemoryBackendOptions.FinishedJobRetention"/> (a redelivered job's
/// settlement then still finds it and changes nothing), then removed by a later write.
/// </summary>
internal sealed class InMemoryCreditLedger(IOptions<CreditLedgerOptions> options, TimeProvider? timeProvider = null, IOptions<InMemoryBackendOptions>? backendOptions = null) : ICreditLedger
{
    private const int PurgeBatch = 16;
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private readonly TimeSpan? _retention = (backendOptions?.Value ?? new InMemoryBackendOptions()).FinishedJobRetention;
    private readonly Queue<(long DueTicks, string Owner, string JobId)> _settled = new();
    private readonly Lock _gate = new();
    private readonly long _initialBalance = options.Value.InitialBalance;
    private readonly Dictionary<string, long> _balances = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Owner, string JobId), Reservation> _reservations = [];

    public ValueTask<CreditReservation> ReserveAsync(string ownerId, string jobId, long amount, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        lock (_gate)
        {
            var balance = BalanceOf(ownerId);
            if (_reservations.TryGetValue((ownerId, jobId), out var existing))
            {
                return ValueTask.FromResult(new CreditReservation(jobId, existing.Amount, balance, Created: false));
            }

            if (balance < amount)
            {
                throw new InsufficientCreditsException(ownerId, amount, balance);
            }

            balance -= amount;
            _balances[ownerId] = balance;
            _reservations[(ownerId, jobId)] = new Reservation(amount, _time.GetUtcNow());
            return ValueTask.FromResult(new CreditReservation(jobId, amount, balance, Created: true));
        }
    }

    public ValueTask<long> RefundAsync(string ownerId, string jobId, CancellationToken cancellationToken = default) =>
        SettleAsync(ownerId, jobId, long.MaxValue, cancellationToken);

    public ValueTask<long> SettleAsync(string ownerId, string jobId, long refund, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        ArgumentOutOfRangeException.ThrowIfNegative(refund);
        lock (_gate)
        {
            ref var reservation = ref CollectionsMarshal.GetValueRefOrNullRef(_reservations, (ownerId, jobId));
            if (Unsafe.IsNullRef(ref reservation) || reservation.Settled)
            {
                return ValueTask.FromResult(0L);
            }

            reservation.Settle();
            if (_retention is { } retention)
            {
                _settled.Enqueue((_time.GetUtcNow().UtcTicks + retention.Ticks, ownerId, jobId));
            }

            Purge();
            var refunded = Math.Min(refund, reservation.Amount);
            if (refunded > 0)
            {
                _balances[ownerId] = BalanceOf(ownerId) + refunded;
            }

            return ValueTask.FromResult(refunded);
        }
    }

    public ValueTask<IReadOnlyList<OpenReservation>> ListOpenReservationsAsync(DateTimeOffset reservedBefore, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        lock (_gate)
        {
            IReadOnlyList<OpenReservation> open = _reservations
                .Where(r => !r.Value.Settled && r.Value.ReservedAt < reservedBefore)
                .OrderBy(r => r.Value.ReservedAt)
                .Take(maxCount)
                .Select(r => new OpenReservation(r.Key.Owner, r.Key.JobId, r.Value.Amount, r.Value.ReservedAt))
                .ToList();
            return ValueTask.FromResult(open);
        }
    }

    public ValueTask<long> GetBalanceAsync(string ownerId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        lock (_gate)
        {
            return ValueTask.FromResult(BalanceOf(ownerId));
        }
    }

    public ValueTask<long> GrantAsync(string ownerId, long amount, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(amount);
        lock (_gate)
        {
            var balance = checked(BalanceOf(ownerId) + amount);
            _balances[ownerId] = balance;
            return ValueTask.FromResult(balance);
        }
    }

    /// <summary>How many reservations, open or settled, the ledger holds (for tests).</summary>
    public int ReservationCount
    {
        get
        {
            lock (_gate)
            {
                return _reservations.Count;
            }
        }
    }

    /// <summary>Removes a few settled reservations whose retention has passed. Caller holds the lock.</summary>
    private void Purge()
    {
        var now = _time.GetUtcNow().UtcTicks;
        for (var i = 0; i < PurgeBatch && _settled.TryPeek(out var next) && next.DueTicks <= now; i++)
        {
            _settled.Dequeue();
            _reservations.Remove((next.Owner, next.JobId));
        }
    }

    private long BalanceOf(string ownerId) => _balances.TryGetValue(ownerId, out var balance) ? balance : _initialBalance;

    /// <summary>
    /// A reservation, kept in place in the dictionary: a value, so a retained job costs the ledger no object. 16 bytes: the
    /// amount, and the time as UTC ticks, which a settled reservation (never listed as open again) replaces with -1.
    /// </summary>
    private struct Reservation(long amount, DateTimeOffset reservedAt)
    {
        private long _reservedAtTicks = reservedAt.UtcTicks;

        public readonly long Amount { get; } = amount;

        /// <summary>When it was made; only an open reservation's is kept (a settled one reads as the earliest instant).</summary>
        public readonly DateTimeOffset ReservedAt => _reservedAtTicks < 0 ? DateTimeOffset.MinValue : new(_reservedAtTicks, TimeSpan.Zero);

        public readonly bool Settled => _reservedAtTicks < 0;

        public void Settle() => _reservedAtTicks = -1;
    }
}
