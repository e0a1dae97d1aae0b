namespace MediaGen.Shared;

/// <summary>How a lease is settled (or renewed) through <see cref="SettleOnceLease{TJson}.SettleCoreAsync"/>.</summary>
internal enum LeaseSettle
{
    /// <summary>The message is done and removed.</summary>
    Complete,

    /// <summary>The message goes back to the queue, after the given delay.</summary>
    Abandon,

    /// <summary>The message moves to the dead letters with a reason.</summary>
    DeadLetter,

    /// <summary>The lease is extended by the queue's lease duration.</summary>
    Renew,

    /// <summary>The message goes back to the queue after the given delay without counting this delivery.</summary>
    Defer,
}

/// <summary>
/// A lease of a queue whose deliveries carry a lease token and, where the queue shares its backend with the job store,
/// the job's JSON read in the same receive: the Redis and PostgreSQL queues. The lease is settled at most once: a
/// settlement that fails with an exception gives its claim back (the caller may retry, and disposing still returns the
/// message), one that finds the lease no longer held throws <see cref="LeaseLostException"/>, and disposing a lease that
/// was never settled returns the message at once. A lifecycle step that applies the settlement in its own atomic call
/// claims it first with <see cref="TryClaimSettle"/>.
/// </summary>
/// <typeparam name="TJson">How the backend hands over the job's JSON (bytes or text).</typeparam>
internal abstract class SettleOnceLease<TJson> : IJobCarryingLease
    where TJson : class
{
    private TJson? _jobJson;
    private int _settled;

    protected SettleOnceLease(QueueMessage message, long token, int deliveryCount, DateTimeOffset enqueuedAt, DateTimeOffset lockedUntil, JobPriority priority, TJson? jobJson)
    {
        _jobJson = jobJson;
        Message = message;
        Token = token;
        DeliveryCount = deliveryCount;
        EnqueuedAt = enqueuedAt;
        LockedUntil = lockedUntil;
        Priority = priority;
    }

    public QueueMessage Message { get; }

    /// <summary>This delivery's lease token.</summary>
    internal long Token { get; }

    public int DeliveryCount { get; }

    public DateTimeOffset EnqueuedAt { get; }

    public DateTimeOffset LockedUntil { get; private set; }

    public JobPriority Priority { get; }

    /// <summary>
    /// The job read by the receive with this message, parsed on first use and then let go; null when it was not read, or
    /// when it is not this message's job.
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

            var job = DeserializeJob(json);
            return string.Equals(job.Id, Message.JobId, StringComparison.Ordinal) ? job : null;
        }
    }

    /// <summary>
    /// Claims the right to settle this lease outside its own methods (in a lifecycle step); false when it is already
    /// settled. The claimer calls <see cref="ReleaseSettle"/> if the settlement was not applied after all.
    /// </summary>
    internal bool TryClaimSettle() => Interlocked.CompareExchange(ref _settled, 1, 0) == 0;

    /// <summary>Gives back a claim whose settlement was not applied, so the lease can still be settled or returned.</summary>
    internal void ReleaseSettle() => Volatile.Write(ref _settled, 0);

    public ValueTask CompleteAsync(CancellationToken cancellationToken = default) =>
        SettleAsync(LeaseSettle.Complete, 0, null, null, cancellationToken);

    public ValueTask AbandonAsync(TimeSpan delay = default, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        return SettleAsync(LeaseSettle.Abandon, (long)Math.Ceiling(delay.TotalMilliseconds), null, null, cancellationToken);
    }

    public ValueTask DeferAsync(TimeSpan delay = default, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        return SettleAsync(LeaseSettle.Defer, (long)Math.Ceiling(delay.TotalMilliseconds), null, null, cancellationToken);
    }

    public ValueTask DeadLetterAsync(string reason, string? description = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return SettleAsync(LeaseSettle.DeadLetter, 0, reason, description, cancellationToken);
    }

    public async ValueTask RenewAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _settled) != 0)
        {
            throw new LeaseLostException(Message.MessageId);
        }

        var (held, lockedUntil) = await SettleCoreAsync(LeaseSettle.Renew, 0, null, null, cancellationToken).ConfigureAwait(false);
        if (!held)
        {
            throw new LeaseLostException(Message.MessageId);
        }

        LockedUntil = lockedUntil ?? LockedUntil;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.CompareExchange(ref _settled, 1, 0) != 0)
        {
            return;
        }

        try
        {
            await SettleCoreAsync(LeaseSettle.Abandon, 0, null, null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (QueueUnavailableException e)
        {
            // The lease expires and the message is delivered again.
            OnReturnFailed(e);
        }
    }

    /// <summary>Parses the job's JSON as the receive read it.</summary>
    protected abstract GenerationJob DeserializeJob(TJson json);

    /// <summary>
    /// Applies one settlement with this lease's token: <paramref name="milliseconds"/> is the abandon or defer delay. Returns
    /// whether the lease was still held, and for <see cref="LeaseSettle.Renew"/> the new expiry.
    /// </summary>
    protected abstract ValueTask<(bool Held, DateTimeOffset? LockedUntil)> SettleCoreAsync(LeaseSettle operation, long milliseconds, string? reason, string? description, CancellationToken cancellationToken);

    /// <summary>Logs that returning the message on dispose failed because the queue was unavailable.</summary>
    protected abstract void OnReturnFailed(QueueUnavailableException exception);

    private async ValueTask SettleAsync(LeaseSettle operation, long milliseconds, string? reason, string? description, CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _settled, 1, 0) != 0)
        {
            throw new LeaseLostException(Message.MessageId);
        }

        bool held;
        try
        {
            (held, _) = await SettleCoreAsync(operation, milliseconds, reason, description, cancellationToken).ConfigureAwait(false);
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
