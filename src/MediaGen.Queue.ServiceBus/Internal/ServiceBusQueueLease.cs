using Amqp.Framing;

namespace MediaGen.ServiceBus.Internal;

/// <summary>
/// A peek-locked delivery. Complete is <c>accepted</c>, abandon <c>modified</c> (or <c>released</c> per the outcome
/// policy), dead-letter <c>rejected</c> with <c>com.microsoft:dead-letter</c>; renew goes to <c>$management</c>.
/// AMQPNetLite settles without waiting for the broker, so a lock lost at the broker is only reported when this process
/// can tell from the lock's expiry time or from the renew-lock answer; the outcome is sent in every case.
/// </summary>
internal sealed class ServiceBusQueueLease : IQueueLease
{
    private readonly ServiceBusJobQueue _queue;
    private readonly ServiceBusJobQueue.Delivery _delivery;
    private readonly ReceivedFigures _figures;
    private ITimer? _holdTimer;
    private int _settled;

    public ServiceBusQueueLease(ServiceBusJobQueue queue, ServiceBusJobQueue.Delivery delivery)
    {
        _queue = queue;
        _delivery = delivery;
        _figures = delivery.Figures!;
        LockedUntil = delivery.LockedUntil;
        EnqueuedAt = _figures.EnqueuedAt ?? queue.Time.GetUtcNow();
    }

    public QueueMessage Message => _figures.Message;

    public int DeliveryCount => _figures.DeliveryCount;

    public DateTimeOffset EnqueuedAt { get; }

    public DateTimeOffset LockedUntil { get; private set; }

    public JobPriority Priority => _figures.Priority;

    /// <summary>The broker's lock token, when it sent one.</summary>
    public Guid? LockToken => _figures.LockToken;

    public ValueTask CompleteAsync(CancellationToken cancellationToken = default)
    {
        MarkSettled();
        var stale = IsStale();
        var sent = _delivery.TrySettle(new Accepted());
        ThrowIfLost(stale, sent);
        return ValueTask.CompletedTask;
    }

    public async ValueTask AbandonAsync(TimeSpan delay = default, CancellationToken cancellationToken = default)
    {
        MarkSettled();
        var stale = IsStale();
        if (delay <= TimeSpan.Zero || stale)
        {
            var sent = _delivery.TrySettle(_queue.AbandonOutcome());
            ThrowIfLost(stale, sent);
            return;
        }

        if (_queue.Settings.DelayedAbandon == AmqpDelayedAbandon.HoldThenRelease)
        {
            // Kept unsettled (so invisible to other receivers) until the delay passes, then released.
            _queue.Hold(this);
            _holdTimer = _queue.Time.CreateTimer(static s => ((ServiceBusQueueLease)s!).ReleaseHeld(), this, delay, Timeout.InfiniteTimeSpan);
            return;
        }

        // Service Bus cannot abandon with a delay: a scheduled copy under a distinct message id replaces the message.
        var copyNumber = _figures.Carried.Copy + 1;
        var copy = new QueueMessage(Message.JobId) { MessageId = $"{Message.JobId}:{copyNumber}", Headers = Message.Headers };
        var carried = new CarriedFigures(DeliveryCount, copyNumber, EnqueuedAt);
        try
        {
            await _queue.SendAsync(AmqpMessageMapping.ToAmqp(copy, Priority, _queue.Time.GetUtcNow() + delay, carried), copy.MessageId, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // The copy was not sent: hand the message back at once rather than lose it.
            _delivery.TrySettle(_queue.AbandonOutcome());
            throw;
        }

        ThrowIfLost(IsStale(), _delivery.TrySettle(new Accepted()));
    }

    public ValueTask DeadLetterAsync(string reason, string? description = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        MarkSettled();
        var stale = IsStale();
        var sent = _delivery.TrySettle(stale ? _queue.AbandonOutcome() : new Rejected { Error = AmqpMessageMapping.DeadLetterError(reason, description) });
        ThrowIfLost(stale, sent);
        return ValueTask.CompletedTask;
    }

    public async ValueTask RenewAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _settled) != 0)
        {
            throw new InvalidOperationException("The lease was already settled.");
        }

        var connection = _delivery.Connection;
        if (!_delivery.HasBrokerLock || connection.Management is null || LockToken is not { } token)
        {
            // No broker lock to renew (for example RabbitMQ, which holds a delivery until its link closes).
            if (connection.Receiver.IsClosed)
            {
                throw new LeaseLostException(Message.MessageId);
            }

            LockedUntil = _queue.Time.GetUtcNow() + _queue.Options.LockDuration;
            return;
        }

        if (!connection.IsUsable)
        {
            throw new LeaseLostException(Message.MessageId);
        }

        var lockedUntil = await _queue.RenewLockAsync(connection, token, cancellationToken).ConfigureAwait(false);
        LockedUntil = lockedUntil ?? throw new LeaseLostException(Message.MessageId);
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0)
        {
            _delivery.TrySettle(_queue.AbandonOutcome());
        }

        return ValueTask.CompletedTask;
    }

    internal void ReleaseHeld()
    {
        _holdTimer?.Dispose();
        _queue.Unhold(this);
        _delivery.TrySettle(new Released());
    }

    private bool IsStale() => _delivery.HasBrokerLock && _queue.Time.GetUtcNow() >= LockedUntil;

    private void ThrowIfLost(bool stale, bool sent)
    {
        if (stale || !sent)
        {
            Log.StaleSettlement(_queue.Logger, Message.MessageId);
            throw new LeaseLostException(Message.MessageId);
        }
    }

    private void MarkSettled()
    {
        if (Interlocked.Exchange(ref _settled, 1) != 0)
        {
            throw new InvalidOperationException("The lease was already settled.");
        }
    }
}
