using System.Net.Sockets;
using System.Security.Authentication;
using Amqp;
using Amqp.Framing;
using Microsoft.Extensions.Logging;

namespace MediaGen.ServiceBus.Internal;

/// <summary>
/// The <see cref="IJobQueue"/> on Azure Service Bus (or another AMQP 1.0 broker), over one AMQP connection that is
/// reopened with backoff after it drops.
/// </summary>
/// <remarks>
/// Receiving is peek-lock with credit managed by hand: a receive issues exactly as much link credit as its waiting
/// receivers still lack, so the broker never holds more messages for this process than were asked for. Credit that a
/// finished receive leaves outstanding brings later messages into a small buffer, which the next receive hands out
/// first (a buffered delivery whose lock has passed is returned instead). Every delivery is settled, even a stale one,
/// because an unsettled delivery would keep its slot.
/// </remarks>
internal sealed partial class ServiceBusJobQueue : IJobQueue, IAsyncDisposable, IDisposable
{
    private readonly ServiceBusQueueOptions _options;
    private readonly AmqpBrokerSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private readonly Lock _gate = new();
    private readonly List<Delivery> _buffer = [];
    private readonly List<Waiter> _waiters = [];
    private readonly HashSet<ServiceBusQueueLease> _held = [];
    private AmqpQueueConnection? _connection;
    private int _credit;
    private long _arrivals;
    private long _deliveryLatencyTicks;
    private int _failures;
    private DateTimeOffset _lastFailureAt;
    private bool _disposed;

    public ServiceBusJobQueue(ServiceBusQueueOptions options, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options;
        _settings = AmqpBrokerSettings.Resolve(options);
        _time = timeProvider;
        _logger = logger;
    }

    internal AmqpBrokerSettings Settings => _settings;

    internal TimeProvider Time => _time;

    internal ILogger Logger => _logger;

    internal ServiceBusQueueOptions Options => _options;

    /// <summary>The current connection, if one is open (for tests and diagnostics).</summary>
    internal AmqpQueueConnection? CurrentConnection => _connection;

    public async ValueTask EnqueueAsync(QueueMessage message, EnqueueOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        options ??= EnqueueOptions.Default;
        DateTimeOffset? scheduledAt = options.Delay > TimeSpan.Zero ? _time.GetUtcNow() + options.Delay : null;
        await SendAsync(AmqpMessageMapping.ToAmqp(message, options.Priority, scheduledAt), message.MessageId, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<IQueueLease>> ReceiveAsync(int maxMessages, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        cancellationToken.ThrowIfCancellationRequested();
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);

        var buffered = TakeBuffered(maxMessages);
        if (buffered.Count > 0)
        {
            return ToLeases(buffered);
        }

        var waiter = new Waiter(maxMessages, connection) { Probe = maxWait <= TimeSpan.Zero };
        int issue;
        lock (_gate)
        {
            _waiters.Add(waiter);
            issue = IssueNeededCredit();
        }

        GrantCredit(connection, issue);
        List<Delivery> taken;
        try
        {
            await WaitAsync(waiter, maxWait, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                _waiters.Remove(waiter);
                taken = waiter.Items;
                if (cancellationToken.IsCancellationRequested)
                {
                    // Nothing received by a canceled receive is lost: it waits for the next one.
                    _buffer.AddRange(taken);
                    taken = [];
                }
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        return ToLeases(Order(taken));
    }

    public async ValueTask<IReadOnlyList<DeadLetterMessage>> ListDeadLettersAsync(int maxCount = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        var browse = await BrowseDeadLettersAsync(maxCount, cancellationToken).ConfigureAwait(false);
        try
        {
            return browse.Items.Select(d => d.ToDeadLetter(_time.GetUtcNow())).ToList();
        }
        finally
        {
            await browse.ReleaseAllAndCloseAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask<bool> ResubmitDeadLetterAsync(string messageId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        var browse = await BrowseDeadLettersAsync(256, cancellationToken).ConfigureAwait(false);
        try
        {
            var match = browse.Items.FirstOrDefault(d => string.Equals(d.Figures?.Message.MessageId ?? d.Amqp.Properties?.MessageId, messageId, StringComparison.Ordinal));
            if (match is null)
            {
                return false;
            }

            var original = match.Figures?.Message ?? new QueueMessage(messageId);
            var copyNumber = (match.Figures?.Carried.Copy ?? 0) + 1;
            var copy = new QueueMessage(original.JobId) { MessageId = $"{original.JobId}:{copyNumber}", Headers = original.Headers };
            var carried = new CarriedFigures(0, copyNumber, match.Figures?.EnqueuedAt);
            await SendAsync(AmqpMessageMapping.ToAmqp(copy, match.Figures?.Priority ?? JobPriority.Normal, null, carried), copy.MessageId, cancellationToken).ConfigureAwait(false);
            browse.Complete(match);
            return true;
        }
        finally
        {
            await browse.ReleaseAllAndCloseAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Opens a look at the dead-letter queue; a link that fails while opening is tried once more on a (re)opened connection.</summary>
    private async Task<DeadLetterBrowse> BrowseDeadLettersAsync(int maxCount, CancellationToken cancellationToken)
    {
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await DeadLetterBrowse.OpenAsync(this, connection, maxCount, cancellationToken).ConfigureAwait(false);
        }
        catch (QueueUnavailableException e)
        {
            Log.DeadLetterBrowseRetried(_logger, e);
            connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
            return await DeadLetterBrowse.OpenAsync(this, connection, maxCount, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>AMQP gives no message counts (Service Bus reports them only through its HTTPS management API), so every figure is -1.</summary>
    public ValueTask<QueueDepth> GetDepthAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(new QueueDepth(-1, -1, -1, -1));

    /// <summary>Disposes without waiting for the broker's answer to the close (for containers disposed synchronously).</summary>
    public void Dispose()
    {
        var connection = BeginDispose();
        connection?.CloseWithoutWaiting();
    }

    public async ValueTask DisposeAsync()
    {
        var connection = BeginDispose();
        if (connection is not null)
        {
            await connection.CloseAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Marks the queue disposed and hands back what this process holds; returns the connection to close.</summary>
    private AmqpQueueConnection? BeginDispose()
    {
        AmqpQueueConnection? connection;
        ServiceBusQueueLease[] held;
        List<Delivery> buffered;
        lock (_gate)
        {
            if (_disposed)
            {
                return null;
            }

            _disposed = true;
            connection = _connection;
            held = [.. _held];
            _held.Clear();
            buffered = [.. _buffer];
            _buffer.Clear();
        }

        foreach (var lease in held)
        {
            lease.ReleaseHeld();
        }

        foreach (var delivery in buffered)
        {
            delivery.TrySettle(new Released());
        }

        return connection;
    }

    internal async Task SendAsync(Message amqp, string messageId, CancellationToken cancellationToken)
    {
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var started = TimeProvider.System.GetTimestamp();
            await connection.Sender.SendAsync(amqp, _options.OperationTimeout).WaitAsync(cancellationToken).ConfigureAwait(false);

            // A send waits for the broker's outcome: one round trip, which is what a zero-wait receive must allow.
            ObserveDeliveryLatency(TimeProvider.System.GetElapsedTime(started));
        }
        catch (AmqpException e)
        {
            throw new QueueUnavailableException($"The broker did not accept message '{messageId}' on '{_settings.QueueAddress}': {e.Error?.Condition} {e.Error?.Description}", e);
        }
        catch (Exception e) when (e is TimeoutException or ObjectDisposedException or IOException or SocketException)
        {
            throw new QueueUnavailableException($"Message '{messageId}' could not be sent to '{_settings.QueueAddress}': {e.Message}", e);
        }
    }

    internal async Task<DateTimeOffset?> RenewLockAsync(AmqpQueueConnection connection, Guid lockToken, CancellationToken cancellationToken)
    {
        try
        {
            var response = await connection.Management!.RequestAsync(ClaimsRequests.RenewLock(lockToken, connection.Receiver.Name), _options.OperationTimeout, cancellationToken).ConfigureAwait(false);
            return ClaimsRequests.ReadRenewLock(response);
        }
        catch (Exception e) when (e is AmqpException or TimeoutException or ObjectDisposedException)
        {
            throw new QueueUnavailableException($"Renewing a lock on '{_settings.QueueAddress}' failed: {e.Message}", e);
        }
    }

    internal void Hold(ServiceBusQueueLease lease)
    {
        lock (_gate)
        {
            _held.Add(lease);
        }
    }

    internal void Unhold(ServiceBusQueueLease lease)
    {
        lock (_gate)
        {
            _held.Remove(lease);
        }
    }

    internal async Task<AmqpQueueConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        var current = _connection;
        if (current is { IsUsable: true })
        {
            return current;
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            current = _connection;
            if (current is { IsUsable: true })
            {
                return current;
            }

            if (current is not null)
            {
                await current.CloseAsync().ConfigureAwait(false);
                DropDeadDeliveries(current);
            }

            if (_failures > 0)
            {
                var wait = _lastFailureAt + ReconnectDelay(_failures) - _time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
                }
            }

            try
            {
                var opened = await AmqpQueueConnection.OpenAsync(_settings, _options, _time, _logger, OnMessage, cancellationToken).ConfigureAwait(false);
                _ = opened.Closed.ContinueWith(static (_, s) => ((ServiceBusJobQueue)s!).OnConnectionClosed(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                lock (_gate)
                {
                    _credit = 0;
                    _connection = opened;
                }

                _failures = 0;
                ObserveDeliveryLatency(opened.AttachRoundTrip);
                Log.Connected(_logger, _settings.Host, _settings.Port, _settings.QueueAddress);
                return opened;
            }
            catch (Exception e) when (e is AmqpException or IOException or SocketException or TimeoutException or AuthenticationException
                or UnauthorizedAccessException or ObjectDisposedException or InvalidOperationException
                || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                _failures++;
                _lastFailureAt = _time.GetUtcNow();
                Log.ConnectFailed(_logger, _failures, ReconnectDelay(_failures), e);
                var reason = e is UnauthorizedAccessException ? e.Message : $"{e.GetType().Name}: {e.Message}";
                throw new QueueUnavailableException($"Cannot open the AMQP connection to {_settings.Host}:{_settings.Port} for queue '{_settings.QueueAddress}'. {reason}", e);
            }
        }
        finally
        {
            _connectGate.Release();
        }
    }

    /// <summary>
    /// Waits for one request-response round trip on the current connection. Brokers that process a connection's frames
    /// in order have then also processed every settlement sent before it (settlements themselves get no answer).
    /// </summary>
    internal async Task FlushAsync(CancellationToken cancellationToken)
    {
        var connection = _connection;
        if (connection is { IsUsable: true })
        {
            await connection.PutTokensAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private TimeSpan ReconnectDelay(int failures)
    {
        var delay = _options.ReconnectDelay * Math.Pow(2, Math.Min(failures - 1, 16));
        return delay < _options.MaxReconnectDelay ? delay : _options.MaxReconnectDelay;
    }

    private void OnConnectionClosed()
    {
        List<Waiter> waiting;
        lock (_gate)
        {
            waiting = [.. _waiters];
        }

        // Receives waiting on a dead link return what they have, so the caller comes back and reconnects.
        foreach (var waiter in waiting)
        {
            waiter.Abort();
        }
    }

    private void DropDeadDeliveries(AmqpQueueConnection dead)
    {
        lock (_gate)
        {
            _buffer.RemoveAll(d => d.Connection == dead);
        }
    }

    /// <summary>Runs on the library's I/O thread for each message the broker delivers on the queue's receiving link.</summary>
    private void OnMessage(IReceiverLink link, Message message)
    {
        var connection = _connection;
        if (connection is null || !ReferenceEquals(connection.Receiver, link))
        {
            return;
        }

        int issue = 0;
        if (!AmqpMessageMapping.TryRead(message, out var figures, out var problem))
        {
            Log.MalformedMessage(_logger, message.Properties?.MessageId, problem);
            TrySettle(link, message, new Rejected { Error = AmqpMessageMapping.DeadLetterError(MediaGenErrorCodes.MalformedMessage, problem) });
            lock (_gate)
            {
                _credit = Math.Max(0, _credit - 1);
                issue = IssueNeededCredit();
            }

            GrantCredit(connection, issue);
            return;
        }

        var now = _time.GetUtcNow();
        var delivery = new Delivery(connection, message, figures, figures.LockedUntil ?? now + _options.LockDuration, figures.LockedUntil is not null, Interlocked.Increment(ref _arrivals));
        Waiter? wake = null;
        var filled = 0;
        lock (_gate)
        {
            _credit = Math.Max(0, _credit - 1);
            if (_disposed)
            {
                wake = null;
            }
            else
            {
                foreach (var waiter in _waiters)
                {
                    if (waiter.Items.Count < waiter.Want && waiter.Connection == connection)
                    {
                        waiter.Items.Add(delivery);
                        filled = waiter.Items.Count;
                        wake = waiter;
                        break;
                    }
                }

                if (wake is null)
                {
                    _buffer.Add(delivery);
                }
            }
        }

        if (_disposed)
        {
            TrySettle(link, message, new Released());
            return;
        }

        if (wake is { Probe: true } && filled == 1)
        {
            ObserveDeliveryLatency(TimeProvider.System.GetElapsedTime(wake.StartedAt));
        }

        wake?.Signal(filled);
    }

    /// <summary>Credit still needed so every waiting receive can be filled. Caller holds the lock.</summary>
    private int IssueNeededCredit()
    {
        var wanted = 0;
        foreach (var waiter in _waiters)
        {
            wanted += waiter.Want - waiter.Items.Count;
        }

        var issue = wanted - _credit - _buffer.Count;
        if (issue <= 0)
        {
            return 0;
        }

        _credit += issue;
        return issue;
    }

    private static void GrantCredit(AmqpQueueConnection connection, int credit)
    {
        if (credit <= 0)
        {
            return;
        }

        try
        {
            connection.Receiver.SetCredit(credit, CreditMode.Manual);
        }
        catch (Exception e) when (e is AmqpException or ObjectDisposedException or InvalidOperationException)
        {
            // The link is closing; the waiting receive returns empty and the next one reconnects.
        }
    }

    private async Task WaitAsync(Waiter waiter, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var roundTrip = RoundTripAllowance();
        try
        {
            // The wait ends at the later of the caller's wait in queue time and one network round trip in wall time.
            var queueTime = maxWait > TimeSpan.Zero ? Task.Delay(maxWait, _time, stop.Token) : Task.CompletedTask;
            var wallTime = Task.Delay(roundTrip, TimeProvider.System, stop.Token);
            await Task.WhenAny(waiter.First, waiter.Aborted, Task.WhenAll(queueTime, wallTime)).ConfigureAwait(false);
            if (waiter.Items.Count > 0 && !waiter.Full.IsCompleted && !cancellationToken.IsCancellationRequested)
            {
                // The first of a batch arrived: give the rest of what the broker sent with it a moment to land.
                await Task.WhenAny(waiter.Full, waiter.Aborted, Task.Delay(roundTrip / 4, TimeProvider.System, stop.Token)).ConfigureAwait(false);
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The wall-clock allowance for one broker round trip: <see cref="ServiceBusQueueOptions.ReceiveRoundTrip"/>, or
    /// three times the slowest recent round trip (a send's outcome, an attach, a delivery after credit) when that is
    /// more (a busy broker or machine), up to ten times the configured value.
    /// </summary>
    internal TimeSpan RoundTripAllowance()
    {
        var configured = _options.ReceiveRoundTrip;
        var observed = TimeSpan.FromTicks(Volatile.Read(ref _deliveryLatencyTicks) * 3);
        return observed <= configured ? configured : observed < configured * 10 ? observed : configured * 10;
    }

    /// <summary>Keeps a slowly decaying maximum of the time from issuing credit to the first delivery.</summary>
    private void ObserveDeliveryLatency(TimeSpan latency)
    {
        long current, next;
        do
        {
            current = Volatile.Read(ref _deliveryLatencyTicks);
            next = Math.Max(latency.Ticks, current - (current / 8));
        }
        while (Interlocked.CompareExchange(ref _deliveryLatencyTicks, next, current) != current);
    }

    private List<Delivery> TakeBuffered(int maxMessages)
    {
        var now = _time.GetUtcNow();
        List<Delivery> taken = [];
        List<Delivery>? expired = null;
        lock (_gate)
        {
            if (_buffer.Count == 0)
            {
                return taken;
            }

            foreach (var delivery in Order(_buffer))
            {
                if (delivery.HasBrokerLock && delivery.LockedUntil <= now)
                {
                    (expired ??= []).Add(delivery);
                }
                else if (taken.Count < maxMessages)
                {
                    taken.Add(delivery);
                }
            }

            foreach (var delivery in taken)
            {
                _buffer.Remove(delivery);
            }

            if (expired is not null)
            {
                foreach (var delivery in expired)
                {
                    _buffer.Remove(delivery);
                }
            }
        }

        if (expired is not null)
        {
            foreach (var delivery in expired)
            {
                Log.ExpiredBeforeHandout(_logger, delivery.Figures!.Message.MessageId);
                delivery.TrySettle(AbandonOutcome());
            }
        }

        return taken;
    }

    internal Outcome AbandonOutcome() => _settings.Abandon == AmqpAbandonOutcome.Released
        ? new Released()
        : new Modified { DeliveryFailed = true, UndeliverableHere = false };

    private static List<Delivery> Order(IEnumerable<Delivery> deliveries) =>
        [.. deliveries.OrderByDescending(d => d.Figures!.Priority).ThenBy(d => d.Arrival)];

    private List<IQueueLease> ToLeases(List<Delivery> deliveries) =>
        deliveries.Select(d => (IQueueLease)new ServiceBusQueueLease(this, d)).ToList();

    internal static void TrySettle(IReceiverLink link, Message message, Outcome outcome)
    {
        try
        {
            switch (outcome)
            {
                case Accepted:
                    link.Accept(message);
                    break;
                case Released:
                    link.Release(message);
                    break;
                case Rejected rejected:
                    link.Reject(message, rejected.Error);
                    break;
                case Modified modified:
                    link.Modify(message, modified.DeliveryFailed, modified.UndeliverableHere, modified.MessageAnnotations);
                    break;
            }
        }
        catch (Exception e) when (e is AmqpException or ObjectDisposedException or InvalidOperationException)
        {
            // The link is gone; the broker returns the message when the lock or the link ends.
        }
    }

    /// <summary>A message the broker delivered on the queue's receiving link, not yet settled.</summary>
    internal sealed class Delivery(AmqpQueueConnection connection, Message amqp, ReceivedFigures? figures, DateTimeOffset lockedUntil, bool hasBrokerLock, long arrival)
    {
        public AmqpQueueConnection Connection { get; } = connection;

        public Message Amqp { get; } = amqp;

        public ReceivedFigures? Figures { get; } = figures;

        public DateTimeOffset LockedUntil { get; } = lockedUntil;

        public bool HasBrokerLock { get; } = hasBrokerLock;

        public long Arrival { get; } = arrival;

        /// <summary>Settles the delivery; false when its link is gone.</summary>
        public bool TrySettle(Outcome outcome)
        {
            if (Connection.Receiver.IsClosed)
            {
                return false;
            }

            ServiceBusJobQueue.TrySettle(Connection.Receiver, Amqp, outcome);
            return !Connection.Receiver.IsClosed;
        }
    }

    /// <summary>One waiting receive: how many it wants, what it got, and signals for the first and the last.</summary>
    private sealed class Waiter(int want, AmqpQueueConnection connection)
    {
        private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _full = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Want { get; } = want;

        public AmqpQueueConnection Connection { get; } = connection;

        /// <summary>Whether the receive does not wait: what arrives was ready, so its latency is the broker's.</summary>
        public bool Probe { get; init; }

        /// <summary>When the receive began waiting, on the system clock (for the delivery latency).</summary>
        public long StartedAt { get; } = TimeProvider.System.GetTimestamp();

        public List<Delivery> Items { get; } = [];

        public Task First => _first.Task;

        public Task Full => _full.Task;

        public Task Aborted => _aborted.Task;

        /// <summary>Called after an item was added under the queue's lock, with the count it reached.</summary>
        public void Signal(int filled)
        {
            _first.TrySetResult();
            if (filled >= Want)
            {
                _full.TrySetResult();
            }
        }

        public void Abort() => _aborted.TrySetResult();
    }
}
