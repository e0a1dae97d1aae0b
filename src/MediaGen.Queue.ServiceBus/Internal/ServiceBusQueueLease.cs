using Azure.Messaging.ServiceBus;

namespace MediaGen.ServiceBus.Internal;

/// <summary>
/// A peek-locked Service Bus message. Complete, abandon, dead-letter and renew go through the receiver that received
/// it, which waits for Service Bus's answer: a lock that was lost (expired, or the message is with another receiver)
/// surfaces as <see cref="LeaseLostException"/>.
/// </summary>
internal sealed class ServiceBusQueueLease : IQueueLease
{
    private readonly ServiceBusJobQueue _queue;
    private readonly ServiceBusReceivedMessage _message;
    private readonly ReceivedFigures _figures;
    private int _settled;

    public ServiceBusQueueLease(ServiceBusJobQueue queue, ServiceBusReceivedMessage message, ReceivedFigures figures)
    {
        _queue = queue;
        _message = message;
        _figures = figures;
    }

    public QueueMessage Message => _figures.Message;

    public int DeliveryCount => _figures.DeliveryCount;

    public DateTimeOffset EnqueuedAt => _figures.EnqueuedAt;

    public DateTimeOffset LockedUntil => _message.LockedUntil;

    public JobPriority Priority => _figures.Priority;

    private Task CompleteCoreAsync(CancellationToken cancellationToken) =>
        CallReceiverAsync(r => r.CompleteMessageAsync(_message, cancellationToken), "complete", cancellationToken);

    public ValueTask CompleteAsync(CancellationToken cancellationToken = default)
    {
        MarkSettled();
        return new ValueTask(CompleteCoreAsync(cancellationToken));
    }

    public async ValueTask AbandonAsync(TimeSpan delay = default, CancellationToken cancellationToken = default)
    {
        MarkSettled();
        if (delay <= TimeSpan.Zero)
        {
            await CallReceiverAsync(r => r.AbandonMessageAsync(_message, cancellationToken: cancellationToken), "abandon", cancellationToken).ConfigureAwait(false);
            return;
        }

        await ReplaceAsync(delay, priorDeliveries: DeliveryCount, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DeferAsync(TimeSpan delay = default, CancellationToken cancellationToken = default)
    {
        MarkSettled();

        // Service Bus counts every abandon: a copy that carries one delivery fewer replaces the message, at once or after
        // the delay, so the next delivery counts as this one did.
        await ReplaceAsync(delay, priorDeliveries: DeliveryCount - 1, cancellationToken).ConfigureAwait(false);
    }

    // Service Bus cannot abandon with a delay, nor without counting the delivery: a copy under a distinct message id (so
    // duplicate detection keeps it), scheduled after the delay and carrying the deliveries so far, replaces the message,
    // then the original is completed. A crash between the two leaves both; the worker drops the duplicate of a job that
    // is no longer pending.
    private async ValueTask ReplaceAsync(TimeSpan delay, int priorDeliveries, CancellationToken cancellationToken)
    {
        var (copy, carried) = _figures.NextCopy(priorDeliveries);
        try
        {
            var visibleAt = delay > TimeSpan.Zero ? _queue.Time.GetUtcNow() + delay : (DateTimeOffset?)null;
            await _queue.SendAsync(ServiceBusMessageMapping.ToServiceBus(copy, Priority, visibleAt, carried), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // The copy was not sent: hand the message back at once rather than lose it.
            await _queue.AbandonQuietlyAsync(_queue.Receiver, _message).ConfigureAwait(false);
            throw;
        }

        await CompleteCoreAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DeadLetterAsync(string reason, string? description = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        MarkSettled();
        await CallReceiverAsync(r => r.DeadLetterMessageAsync(_message, reason, description, cancellationToken), "dead-letter", cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask RenewAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _settled) != 0)
        {
            throw new InvalidOperationException("The lease was already settled.");
        }

        // RenewMessageLockAsync updates the message's LockedUntil, which LockedUntil reads.
        await CallReceiverAsync(r => r.RenewMessageLockAsync(_message, cancellationToken), "renew the lock of", cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0)
        {
            await _queue.AbandonQuietlyAsync(_queue.Receiver, _message).ConfigureAwait(false);
        }
    }

    private async Task CallReceiverAsync(Func<ServiceBusReceiver, Task> operation, string what, CancellationToken cancellationToken)
    {
        try
        {
            await operation(_queue.Receiver).ConfigureAwait(false);
        }
        catch (Exception e) when (ServiceBusErrors.IsLockLost(e))
        {
            Log.LockLost(_queue.Logger, Message.MessageId);
            throw new LeaseLostException(Message.MessageId);
        }
        catch (Exception e) when (ServiceBusErrors.IsUnavailable(e) && !cancellationToken.IsCancellationRequested)
        {
            throw ServiceBusErrors.Unavailable(_queue.Options.QueueName, $"{what} message '{Message.MessageId}'", e);
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
