using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MediaGen.Shared;

namespace MediaGen;

/// <summary>Options for submission and job life time, shared by producers and workers.</summary>
public sealed class MediaGenerationOptions
{
    /// <summary>How many attempts a job gets before it is failed and dead-lettered.</summary>
    /// <value>The default value is 5.</value>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>How long after submission a job may still be attempted; past it the job fails with <c>deadline_exceeded</c> and its provider work is canceled.</summary>
    /// <value>The default value is 1 hour.</value>
    [TimeSpanRange("00:00:01", "30.00:00:00")]
    public TimeSpan JobDeadline { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long after a job failed its provider checkpoint (for example a Replicate prediction id) is still worth
    /// resuming when the job is retried (<see cref="IMediaGenerationClient.RetryAsync"/>). A retry within it keeps the
    /// checkpoint of a job that failed with a transient error (or ran out of attempts to them), so the provider's work is picked up instead of paid for
    /// again; later, or after a permanent error or a cancel, the new run starts afresh. Replicate deletes an API
    /// prediction's outputs an hour after it finishes.
    /// </summary>
    /// <value>The default value is 50 minutes.</value>
    [TimeSpanRange("00:00:00", "7.00:00:00")]
    public TimeSpan CheckpointResumeWindow { get; set; } = TimeSpan.FromMinutes(50);

    /// <summary>The longest idempotency key accepted.</summary>
    /// <value>The default value is 255.</value>
    [Range(1, 1024)]
    public int MaxIdempotencyKeyLength { get; set; } = 255;

    /// <summary>
    /// The most jobs one owner may have waiting in <see cref="JobStatus.Pending"/>; a submission past it is refused with
    /// <see cref="OwnerLimitExceededException"/> and nothing is written or charged. Checked in the same atomic step as the
    /// submission where one backend owns the store (in memory, Redis). Null for no limit.
    /// </summary>
    /// <value>The default value is null.</value>
    [Range(1, int.MaxValue)]
    public int? MaxPendingJobsPerOwner { get; set; }

    /// <summary>The retry-after a submission refused for <see cref="MaxPendingJobsPerOwner"/> is told.</summary>
    /// <value>The default value is 10 seconds.</value>
    [TimeSpanRange("00:00:01", "01:00:00")]
    public TimeSpan PendingLimitRetryAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The most submissions one owner may make per <see cref="SubmissionWindow"/> (a fixed window); a submission past it
    /// is refused with <see cref="OwnerLimitExceededException"/> carrying the rest of the window as its retry-after, and
    /// nothing is written or charged. Counted per process in memory, and across every API process on Redis. Null for no
    /// limit.
    /// </summary>
    /// <value>The default value is null.</value>
    [Range(1, int.MaxValue)]
    public int? SubmissionsPerOwner { get; set; }

    /// <summary>
    /// How many of a job's latest events the event stream keeps for replay (<see cref="IJobEventStream.GetHistoryAsync"/>,
    /// and server-sent events resumed with <c>Last-Event-ID</c>). Every MediaGen backend reads it: in memory, Redis (a
    /// list per job) and PostgreSQL (a history table).
    /// </summary>
    /// <value>The default value is 100.</value>
    [Range(1, 10_000)]
    public int EventHistoryLength { get; set; } = 100;

    /// <summary>How long a job's event history is kept after its latest event.</summary>
    /// <value>The default value is 1 day.</value>
    [TimeSpanRange("00:00:01", "30.00:00:00")]
    public TimeSpan EventHistoryRetention { get; set; } = TimeSpan.FromDays(1);

    /// <summary>The window <see cref="SubmissionsPerOwner"/> counts in.</summary>
    /// <value>The default value is 1 minute.</value>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan SubmissionWindow { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Validates <see cref="MediaGenerationOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class MediaGenerationOptionsValidator : IValidateOptions<MediaGenerationOptions>
{
}
