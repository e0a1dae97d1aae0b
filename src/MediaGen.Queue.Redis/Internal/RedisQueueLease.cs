using Microsoft.Extensions.Logging;

namespace MediaGen.Queue.Redis.Internal;

/// <summary>A message received from <see cref="RedisJobQueue"/>, identified by a lease token unique to this delivery.</summary>
internal sealed class RedisQueueLease : IJobCarryingLease
{
    private readonly RedisJobQueue _queue;
    private readonly long _token;
    private readonly ILogger _logger;
    private byte[]? _jobJson;
    private int _settled;

    public RedisQueueLease(RedisJobQueue queue, QueueMessage message, long token, int deliveryCount, DateTimeOffset enqueuedAt, DateTimeOffset lockedUntil, JobPriority priority, ILogger logger, byte[]? jobJson = null)
    {
        _queue = queue;
        _token = token;
        _logger = logger;
        _jobJson = jobJson;
        Message = message;
        DeliveryCount = deliveryCount;
        EnqueuedAt = enqueuedAt;
        LockedUntil = lockedUntil;
        Priority = priority;
    }

    public QueueMessage Message { get; }

    /// <summary>
    /// The job read by the receive script with this message (see <see cref="RedisJobQueue.JobRoot"/>), parsed on first
    /// use and then let go; null when it was not read, or when it is not this message's job.
    /// </summary>
    public GenerationJob? Job
    {
        get
        {
            var json = Interlocked.Exchange(ref _jobJson, null);
            if (json is null)
            {
                return null;
            }

            var job = RedisJobStore.Deserialize(json);
            return string.Equals(job.Id, Message.JobId, StringComparison.Ordinal) ? job : null;
        }
    }

    /// <summary>The queue this lease came from.</summary>
    internal RedisJobQueue Queue => _queue;

    /// <summary>This delivery's lease token.</summary>
    internal long Token => _token;

    /// <summary>
    /// Claims the right to settle this lease outside its own methods (in a lifecycle script); false when it is already
    /// settled. The claimer calls <see cref="ReleaseSettle"/> if the settlement was not sent after all.
    /// </summary>
    internal bool TryClaimSettle() => Interlocked.CompareExchange(ref _settled, 1, 0) == 0;

    /// <summary>Gives back a claim whose settlement was not applied, so the lease can still be settled or returned.</summary>
    internal void ReleaseSettle() => Volatile.Write(ref _settled, 0);

    public int DeliveryCount { get; }

    public DateTimeOffset EnqueuedAt { get; }

    public DateTimeOffset LockedUntil { get; private set; }

    public JobPriority Priority { get; }

    public async ValueTask CompleteAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _settled, 1, 0) != 0)
        {
            throw new LeaseLostException(Message.MessageId);
        }

        bool held;
        try
        {
            held = await _queue.CompleteAsync(Message.MessageId, _token, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Volatile.Write(ref _settled, 0);
            throw;
        }

        if (!held)
        {
            throw new LeaseLostException(Message.MessageId);
        }
    }

    public ValueTask AbandonAsync(TimeSpan delay = default, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        return SettleAsync("abandon", (long)Math.Ceiling(delay.TotalMilliseconds), null, null, cancellationToken);
    }

    public ValueTask DeadLetterAsync(string reason, string? description = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return SettleAsync("dead", 0, reason, description, cancellationToken);
    }

    public async ValueTask RenewAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _settled) != 0)
        {
            throw new LeaseLostException(Message.MessageId);
        }

        var leaseMs = (long)Math.Ceiling(_queue.LeaseDuration.TotalMilliseconds);
        var (held, expiry) = await _queue.SettleAsync("renew", Message.MessageId, _token, leaseMs, null, null, cancellationToken).ConfigureAwait(false);
        if (!held)
        {
            throw new LeaseLostException(Message.MessageId);
        }

        LockedUntil = DateTimeOffset.FromUnixTimeMilliseconds(expiry);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.CompareExchange(ref _settled, 1, 0) != 0)
        {
            return;
        }

        try
        {
            await _queue.SettleAsync("abandon", Message.MessageId, _token, 0, null, null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (QueueUnavailableException e)
        {
            // The lease expires and the message is delivered again.
            Log.ReturnOnDisposeFailed(_logger, Message.MessageId, e);
        }
    }

    private async ValueTask SettleAsync(string operation, long argument, string? reason, string? description, CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _settled, 1, 0) != 0)
        {
            throw new LeaseLostException(Message.MessageId);
        }

        bool held;
        try
        {
            (held, _) = await _queue.SettleAsync(operation, Message.MessageId, _token, argument, reason, description, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Not settled after all: the caller may retry, and disposing still returns the message.
            Volatile.Write(ref _settled, 0);
            throw;
        }

        if (!held)
        {
            throw new LeaseLostException(Message.MessageId);
        }
    }
}
