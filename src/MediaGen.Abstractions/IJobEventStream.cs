using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;

namespace MediaGen;

/// <summary>
/// Publishes job events and streams them to subscribers (server-sent events, webhooks). Live delivery is best effort:
/// the job store, not the stream, is the source of truth, so a subscriber reads the job once its subscription is live
/// (<see cref="OpenSubscriptionAsync"/> returned).
/// Each published event gets the job's next <see cref="JobEvent.Sequence"/>, and the stream keeps a bounded history of
/// each job's latest events, so a client that reconnects reads what it missed (<see cref="GetHistoryAsync"/>).
/// </summary>
public interface IJobEventStream
{
    /// <summary>Publishes an event to the job's subscribers, in whichever process they are.</summary>
    /// <param name="jobEvent">The event.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>A task that completes once the event is handed to the transport.</returns>
    ValueTask PublishAsync(JobEvent jobEvent, CancellationToken cancellationToken = default);

    /// <summary>
    /// Subscribes to a job's events and returns once the subscription is live: every event published (by any process)
    /// after the returned task completed is delivered. Open the subscription, then read the job or its history, and
    /// nothing is missed between the two. Dispose the enumerator to unsubscribe.
    /// </summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="cancellationToken">Cancels the subscribing, and ends the subscription's reads.</param>
    /// <returns>The live subscription: the events in the order they were published, each with its <see cref="JobEvent.Sequence"/>.</returns>
    /// <exception cref="QueueUnavailableException">The backend cannot be reached.</exception>
    ValueTask<IAsyncEnumerator<JobEvent>> OpenSubscriptionAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Streams a job's events, until <paramref name="cancellationToken"/> is canceled. The subscription starts with the
    /// enumeration, so an event published before the first read is complete may be missed: a reader that must not
    /// miss one uses <see cref="OpenSubscriptionAsync"/>.
    /// </summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="cancellationToken">Ends the subscription.</param>
    /// <returns>The events in the order they were published, each with its <see cref="JobEvent.Sequence"/>.</returns>
    IAsyncEnumerable<JobEvent> SubscribeAsync(string jobId, CancellationToken cancellationToken = default) =>
        ReadSubscriptionAsync(this, jobId, cancellationToken);

    /// <summary>
    /// Reads the job's kept events published after the one numbered <paramref name="afterSequence"/>, oldest first. The
    /// history is bounded: it keeps a job's latest events (how many, and for how long, is the backend's option), so the
    /// first event returned may come later than <paramref name="afterSequence"/> + 1 when older ones were dropped.
    /// Open a subscription first (<see cref="OpenSubscriptionAsync"/>) and then read the history to miss nothing; an event
    /// may then arrive both ways (same sequence).
    /// </summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="afterSequence">The last sequence the reader has; 0 for the whole kept history.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The kept events after <paramref name="afterSequence"/>, in sequence order; empty when there are none.</returns>
    ValueTask<IReadOnlyList<JobEvent>> GetHistoryAsync(string jobId, long afterSequence, CancellationToken cancellationToken = default);

    private static async IAsyncEnumerable<JobEvent> ReadSubscriptionAsync(IJobEventStream stream, string jobId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var events = await stream.OpenSubscriptionAsync(jobId, cancellationToken).ConfigureAwait(false);
        await using (events.ConfigureAwait(false))
        {
            while (await events.MoveNextAsync().ConfigureAwait(false))
            {
                yield return events.Current;
            }
        }
    }
}

/// <summary>What happened to a job.</summary>
public enum JobEventType
{
    /// <summary>Accepted and enqueued.</summary>
    Queued = 0,

    /// <summary>An attempt started.</summary>
    Started = 1,

    /// <summary>The running attempt made progress.</summary>
    Progress = 2,

    /// <summary>One output was stored.</summary>
    OutputStored = 3,

    /// <summary>An attempt failed and a retry is scheduled.</summary>
    Retrying = 4,

    /// <summary>Finished with its outputs stored (any that failed are in <see cref="GenerationJob.FailedOutputs"/>). Terminal.</summary>
    Succeeded = 5,

    /// <summary>Failed for good. Terminal.</summary>
    Failed = 6,

    /// <summary>Canceled. Terminal.</summary>
    Canceled = 7,

    /// <summary>
    /// The owner asked to cancel the running job; <see cref="Canceled"/> follows once the worker running it has stopped
    /// it and the credits are refunded, unless the job finishes first.
    /// </summary>
    CancelRequested = 8,

    /// <summary>
    /// A Failed or Canceled job was taken back to Pending for a new run (<see cref="GenerationJob.Run"/>), charged again.
    /// Started, progress and a terminal event of the new run follow.
    /// </summary>
    Retried = 9,
}

/// <summary>One job event.</summary>
public sealed record JobEvent
{
    // Kept compact, as a job's instants are (see GenerationJob): the timestamp as UTC ticks, and no progress as NaN rather
    // than a nullable double.
    private long _timestamp;
    private double _progress = double.NaN;

    /// <summary>The job.</summary>
    public required string JobId { get; init; }

    /// <summary>
    /// The event's number within its job (1, 2, 3, ...), given by the event stream when the event is published; it
    /// only grows, so it serves as a server-sent event id to resume from. 0 on an event not published yet.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long Sequence { get; init; }

    /// <summary>The job's owner.</summary>
    public required string OwnerId { get; init; }

    /// <summary>What happened.</summary>
    public required JobEventType Type { get; init; }

    /// <summary>When.</summary>
    /// <remarks>Kept in UTC: an instant given with another offset reads back as the same instant at offset zero.</remarks>
    public required DateTimeOffset Timestamp { get => new(_timestamp, TimeSpan.Zero); init => _timestamp = value.UtcTicks; }

    /// <summary>The job's status after the event.</summary>
    public JobStatus Status { get; init; }

    /// <summary>The attempt the event belongs to.</summary>
    public int Attempt { get; init; }

    /// <summary>Progress from 0 to 1, for <see cref="JobEventType.Progress"/>.</summary>
    /// <remarks>NaN is not a progress: it reads back as null.</remarks>
    public double? Progress { get => double.IsNaN(_progress) ? null : _progress; init => _progress = value ?? double.NaN; }

    /// <summary>A short description.</summary>
    public string? Message { get; init; }

    /// <summary>The stored output, for <see cref="JobEventType.OutputStored"/>.</summary>
    public JobOutput? Output { get; init; }

    /// <summary>The error, for <see cref="JobEventType.Retrying"/> and <see cref="JobEventType.Failed"/>.</summary>
    public JobError? Error { get; init; }

    /// <summary>Whether the event ends the job's stream.</summary>
    [JsonIgnore]
    public bool IsTerminal => Type is JobEventType.Succeeded or JobEventType.Failed or JobEventType.Canceled;
}
