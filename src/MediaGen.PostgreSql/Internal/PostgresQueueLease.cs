namespace MediaGen.PostgreSql.Internal;

/// <summary>A message received from <see cref="PostgresJobQueue"/>, identified by a lease token unique to this delivery.</summary>
internal sealed class PostgresQueueLease : IJobCarryingLease
{
    private readonly PostgresJobQueue _queue;
    private string? _jobJson;
    private int _settled;

    public PostgresQueueLease(PostgresJobQueue queue, QueueMessage message, long token, int deliveryCount, DateTimeOffset enqueuedAt, DateTimeOffset lockedUntil, JobPriority priority, string? jobJson = null)
    {
        _queue = queue;
        _jobJson = jobJson;
        Token = token;
        Message = message;
        DeliveryCount = deliveryCount;
        EnqueuedAt = enqueuedAt;
        LockedUntil = lockedUntil;
        Priority = priority;
    }

    public QueueMessage Message { get; }

    /// <summary>
    /// The job read by the receive statement with this message (see <see cref="PostgresJobQueue.ReadsJobs"/>), parsed on
    /// first use and then let go; null when it was not read, or when it is not this message's job.
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

            var job = PostgresJsonContext.DeserializeJob(json);
            return string.Equals(job.Id, Message.JobId, StringComparison.Ordinal) ? job : null;
        }
    }

    /// <summary>The queue this lease came from.</summary>
    internal PostgresJobQueue Queue => _queue;

    /// <summary>This delivery's lease token.</summary>
    internal long Token { get; }

    public int DeliveryCount { get; }

    public DateTimeOffset EnqueuedAt { get; }

    public DateTimeOffset LockedUntil { get; private set; }

    public JobPriority Priority { get; }

    /// <summary>
    /// Claims the right to settle this lease outside its own methods (in a lifecycle step); false when it is already
    /// settled. The claimer calls <see cref="ReleaseSettle"/> if the settlement was not applied after all.
    /// </summary>
    internal bool TryClaimSettle() => Interlocked.CompareExchange(ref _settled, 1, 0) == 0;

    /// <summary>Gives back a claim whose settlement was not applied, so the lease can still be settled or returned.</summary>
    internal void ReleaseSettle() => Volatile.Write(ref _settled, 0);

    public ValueTask CompleteAsync(CancellationToken cancellationToken = default) =>
        SettleAsync(LeaseOperation.Complete, 0, null, null, cancellationToken);

    public ValueTask AbandonAsync(TimeSpan delay = default, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        return SettleAsync(LeaseOperation.Abandon, (long)Math.Ceiling(delay.TotalMilliseconds), null, null, cancellationToken);
    }

    public ValueTask DeadLetterAsync(string reason, string? description = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return SettleAsync(LeaseOperation.DeadLetter, 0, reason, description, cancellationToken);
    }

    public async ValueTask RenewAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _settled) != 0)
        {
            throw new LeaseLostException(Message.MessageId);
        }

        var leaseMs = (long)Math.Ceiling(_queue.LeaseDuration.TotalMilliseconds);
        var now = _queue.Database.TimeProvider.GetUtcNow();
        if (!await _queue.SettleAsync(LeaseOperation.Renew, Message.MessageId, Token, leaseMs, null, null, cancellationToken).ConfigureAwait(false))
        {
            throw new LeaseLostException(Message.MessageId);
        }

        LockedUntil = now.AddMilliseconds(leaseMs);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.CompareExchange(ref _settled, 1, 0) != 0)
        {
            return;
        }

        try
        {
            await _queue.SettleAsync(LeaseOperation.Abandon, Message.MessageId, Token, 0, null, null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (QueueUnavailableException e)
        {
            // The lease expires and the message is delivered again.
            Log.ReturnOnDisposeFailed(_queue.Logger, Message.MessageId, e);
        }
    }

    private async ValueTask SettleAsync(LeaseOperation operation, long milliseconds, string? reason, string? description, CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _settled, 1, 0) != 0)
        {
            throw new LeaseLostException(Message.MessageId);
        }

        bool held;
        try
        {
            held = await _queue.SettleAsync(operation, Message.MessageId, Token, milliseconds, reason, description, cancellationToken).ConfigureAwait(false);
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
