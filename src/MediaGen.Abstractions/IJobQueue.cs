namespace MediaGen;

/// <summary>
/// A queue of job messages with at-least-once delivery. A received message is a lease: it stays invisible to
/// other receivers until it is settled or its lease expires, after which it is delivered again with
/// <see cref="IQueueLease.DeliveryCount"/> raised.
/// </summary>
public interface IJobQueue
{
    /// <summary>Adds a message.</summary>
    /// <param name="message">The message; it carries a job id, not the job.</param>
    /// <param name="options">Delay and priority; null for none and <see cref="JobPriority.Normal"/>.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>A task that completes once the message is durable in the queue.</returns>
    /// <exception cref="QueueUnavailableException">The queue cannot be reached.</exception>
    ValueTask EnqueueAsync(QueueMessage message, EnqueueOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Receives up to <paramref name="maxMessages"/> ready messages, highest priority first (and within a priority,
    /// where the queue supports it, <see cref="QueueMessage.GroupId"/> groups in turn), waiting up to
    /// <paramref name="maxWait"/> for the first one. Returns an empty list when none arrived in time.
    /// </summary>
    /// <param name="maxMessages">The most messages to return; at least 1.</param>
    /// <param name="maxWait">How long to wait when none is ready; <see cref="TimeSpan.Zero"/> does not wait.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The leases, each of which must be settled or disposed.</returns>
    ValueTask<IReadOnlyList<IQueueLease>> ReceiveAsync(int maxMessages, TimeSpan maxWait, CancellationToken cancellationToken = default);

    /// <summary>Lists dead-lettered messages, oldest first.</summary>
    /// <param name="maxCount">The most to return.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The dead letters.</returns>
    ValueTask<IReadOnlyList<DeadLetterMessage>> ListDeadLettersAsync(int maxCount = 100, CancellationToken cancellationToken = default);

    /// <summary>Moves a dead-lettered message back to the ready queue with its delivery count reset.</summary>
    /// <param name="messageId">The dead letter's <see cref="QueueMessage.MessageId"/>.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns><see langword="true"/> when it was found and resubmitted.</returns>
    ValueTask<bool> ResubmitDeadLetterAsync(string messageId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes a dead-lettered message for good. MediaGen replays a dead letter by retrying its job, which enqueues a
    /// message for the new run, and then deletes the dead letter with this.
    /// </summary>
    /// <param name="messageId">The dead letter's <see cref="QueueMessage.MessageId"/>.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns><see langword="true"/> when it was found and removed.</returns>
    ValueTask<bool> DeleteDeadLetterAsync(string messageId, CancellationToken cancellationToken = default);

    /// <summary>Counts the messages in each state, for metrics and health.</summary>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The depth figures.</returns>
    ValueTask<QueueDepth> GetDepthAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Tells how many ready messages would be delivered before <paramref name="messageId"/> if receivers took them now (a
    /// queue position, 0 for the next one). Later arrivals of higher priority, or of owners with fewer messages under fair
    /// share, can still go ahead of it. The default answers null: a queue that cannot tell (Service Bus) need not.
    /// </summary>
    /// <param name="messageId">The message id (a job's message id is its <see cref="GenerationJob.RunId"/>).</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The number of ready messages ahead of it; null when it is not ready (delayed, leased, dead or unknown) or the queue cannot tell.</returns>
    ValueTask<long?> GetPositionAsync(string messageId, CancellationToken cancellationToken = default) => ValueTask.FromResult<long?>(null);
}

/// <summary>A queue message: a job id plus headers such as the W3C trace context.</summary>
public sealed record QueueMessage
{
    /// <summary>Creates a message for a job.</summary>
    /// <param name="jobId">The job id.</param>
    public QueueMessage(string jobId)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        JobId = jobId;
        MessageId = jobId;
    }

    /// <summary>The job the message is about.</summary>
    public string JobId { get; }

    /// <summary>The message id; the job id unless an adapter needs a distinct one (duplicate detection).</summary>
    public string MessageId { get; init; }

    /// <summary>Headers carried with the message, for example <c>traceparent</c> and <c>tracestate</c>.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>
    /// The group the message is scheduled with; MediaGen uses the job's owner. Within a priority, a queue that supports
    /// fair share serves groups in turn, so one group's backlog cannot hold another's messages back; messages of one
    /// group keep their order. Null puts the message in the one group of messages without a group.
    /// </summary>
    public string? GroupId { get; init; }
}

/// <summary>How a message is enqueued.</summary>
public sealed record EnqueueOptions
{
    /// <summary>Options with no delay and normal priority.</summary>
    public static EnqueueOptions Default { get; } = new();

    /// <summary>How long the message stays invisible before it can be received.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>The priority.</summary>
    public JobPriority Priority { get; init; } = JobPriority.Normal;
}

/// <summary>
/// A received message, held invisible to other receivers until it is settled or the lease expires. Disposing a
/// lease that was not settled returns the message to the queue at once.
/// </summary>
public interface IQueueLease : IAsyncDisposable
{
    /// <summary>The message.</summary>
    QueueMessage Message { get; }

    /// <summary>How many times the message has been delivered, this delivery included (1 on the first).</summary>
    int DeliveryCount { get; }

    /// <summary>When the message was first enqueued.</summary>
    DateTimeOffset EnqueuedAt { get; }

    /// <summary>When the lease expires unless renewed.</summary>
    DateTimeOffset LockedUntil { get; }

    /// <summary>The message's priority.</summary>
    JobPriority Priority { get; }

    /// <summary>Removes the message: it has been handled.</summary>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>A task that completes once the message is removed.</returns>
    /// <exception cref="LeaseLostException">The queue can tell that the lease had already expired.</exception>
    ValueTask CompleteAsync(CancellationToken cancellationToken = default);

    /// <summary>Returns the message to the queue, visible again after <paramref name="delay"/>.</summary>
    /// <param name="delay">How long it stays invisible; zero for at once.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>A task that completes once the message is back in the queue.</returns>
    /// <exception cref="LeaseLostException">The queue can tell that the lease had already expired.</exception>
    ValueTask AbandonAsync(TimeSpan delay = default, CancellationToken cancellationToken = default);

    /// <summary>
    /// Hands the message back on purpose, visible again after <paramref name="delay"/>, without counting this delivery:
    /// the next one has the same <see cref="DeliveryCount"/> as this one. A worker defers a delivery it chose not to
    /// run (the provider asked every worker to pause, or another delivery's lease on the job is still alive) and one it
    /// gives back on shutdown, so waiting never counts toward the limit that guards against a message that keeps
    /// failing its deliveries. The default implementation abandons the message, which counts the delivery; MediaGen's
    /// queues implement it, and a lease that wraps another must pass it on.
    /// </summary>
    /// <param name="delay">How long it stays invisible; zero for at once.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>A task that completes once the message is back in the queue.</returns>
    /// <exception cref="LeaseLostException">The queue can tell that the lease had already expired.</exception>
    ValueTask DeferAsync(TimeSpan delay = default, CancellationToken cancellationToken = default) => AbandonAsync(delay, cancellationToken);

    /// <summary>Moves the message to the dead-letter store with a reason.</summary>
    /// <param name="reason">A short, stable reason such as an error code.</param>
    /// <param name="description">A longer description.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>A task that completes once the message is dead-lettered.</returns>
    /// <exception cref="LeaseLostException">The queue can tell that the lease had already expired.</exception>
    ValueTask DeadLetterAsync(string reason, string? description = null, CancellationToken cancellationToken = default);

    /// <summary>Extends the lease by the queue's lease duration from now.</summary>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>A task that completes once the lease is extended; <see cref="LockedUntil"/> is updated.</returns>
    /// <exception cref="LeaseLostException">The lease had already expired and the message may be with another receiver.</exception>
    ValueTask RenewAsync(CancellationToken cancellationToken = default);
}

/// <summary>A message in the dead-letter store.</summary>
/// <param name="Message">The message.</param>
/// <param name="Reason">Why it was dead-lettered.</param>
/// <param name="Description">A longer description, if any.</param>
/// <param name="DeliveryCount">Its delivery count when it was dead-lettered.</param>
/// <param name="DeadLetteredAt">When.</param>
public sealed record DeadLetterMessage(QueueMessage Message, string Reason, string? Description, int DeliveryCount, DateTimeOffset DeadLetteredAt);

/// <summary>How many messages a queue holds in each state. A figure a queue cannot tell is -1.</summary>
/// <param name="Ready">Ready to be received.</param>
/// <param name="Delayed">Waiting for their delay to pass.</param>
/// <param name="Leased">Received and not yet settled.</param>
/// <param name="DeadLettered">In the dead-letter store.</param>
public readonly record struct QueueDepth(long Ready, long Delayed, long Leased, long DeadLettered);
