using Microsoft.Extensions.Logging;

namespace MediaGen.Internal;

/// <summary>MediaGen.Core's log messages, with stable event ids. Prompts and outputs are never logged.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "Job {JobId} submitted for model {Model} by owner {OwnerId}.")]
    public static partial void JobSubmitted(ILogger logger, string jobId, string model, string ownerId);

    [LoggerMessage(2, LogLevel.Warning, "Job {JobId} could not be enqueued; it was failed and refunded.")]
    public static partial void EnqueueFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(3, LogLevel.Debug, "Job {JobId} attempt {Attempt} started on generator {Generator}.")]
    public static partial void AttemptStarted(ILogger logger, string jobId, int attempt, string generator);

    [LoggerMessage(4, LogLevel.Information, "Job {JobId} succeeded after {Attempt} attempt(s) with {OutputCount} output(s).")]
    public static partial void JobSucceeded(ILogger logger, string jobId, int attempt, int outputCount);

    [LoggerMessage(5, LogLevel.Warning, "Job {JobId} attempt {Attempt} failed with {ErrorCode}; retrying in {Delay}.")]
    public static partial void AttemptRetrying(ILogger logger, string jobId, int attempt, string errorCode, TimeSpan delay, Exception? exception);

    [LoggerMessage(6, LogLevel.Warning, "Job {JobId} failed with {ErrorCode}: {Message}")]
    public static partial void JobFailed(ILogger logger, string jobId, string errorCode, string message, Exception? exception);

    [LoggerMessage(7, LogLevel.Information, "Job {JobId} was canceled.")]
    public static partial void JobCanceled(ILogger logger, string jobId);

    [LoggerMessage(8, LogLevel.Debug, "Message for job {JobId} dropped: the job is already {Status}.")]
    public static partial void FinishedJobRedelivered(ILogger logger, string jobId, JobStatus status);

    [LoggerMessage(9, LogLevel.Warning, "Message {MessageId} dead-lettered: {Reason}.")]
    public static partial void MessageDeadLettered(ILogger logger, string messageId, string reason);

    [LoggerMessage(10, LogLevel.Warning, "The lease on job {JobId} was lost; another worker may run it. Stopping this attempt.")]
    public static partial void LeaseLost(ILogger logger, string jobId);

    [LoggerMessage(11, LogLevel.Information, "Job {JobId} returned to the queue on shutdown.")]
    public static partial void ReturnedOnShutdown(ILogger logger, string jobId);

    [LoggerMessage(12, LogLevel.Error, "The worker's receive loop failed; retrying in {Delay}.")]
    public static partial void ReceiveFailed(ILogger logger, TimeSpan delay, Exception exception);

    [LoggerMessage(13, LogLevel.Information, "MediaGen worker started with concurrency {Concurrency}.")]
    public static partial void WorkerStarted(ILogger logger, int concurrency);

    [LoggerMessage(14, LogLevel.Information, "MediaGen worker stopping; waiting up to {DrainTimeout} for {Running} running job(s).")]
    public static partial void WorkerDraining(ILogger logger, TimeSpan drainTimeout, int running);

    [LoggerMessage(15, LogLevel.Warning, "Drain timeout passed; returning {Running} running job(s) to the queue.")]
    public static partial void DrainTimedOut(ILogger logger, int running);

    [LoggerMessage(16, LogLevel.Information, "Sweeper re-enqueued job {JobId}, which was {Status} with no progress since {UpdatedAt}.")]
    public static partial void SweptJob(ILogger logger, string jobId, JobStatus status, DateTimeOffset updatedAt);

    [LoggerMessage(17, LogLevel.Warning, "Sweeper pass failed.")]
    public static partial void SweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(18, LogLevel.Warning, "Settling the message for job {JobId} failed.")]
    public static partial void SettleFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(19, LogLevel.Warning, "Generator {Generator} is rate limited; pausing its attempts for {Pause}.")]
    public static partial void GeneratorPaused(ILogger logger, string generator, TimeSpan pause);

    [LoggerMessage(20, LogLevel.Error, "Processing the message for job {JobId} failed unexpectedly; it returns to the queue.")]
    public static partial void ProcessingCrashed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(22, LogLevel.Information, "Message for job {JobId} handed back for {Wait}: another delivery's lease on the run is still alive.")]
    public static partial void DuplicateDelivery(ILogger logger, string jobId, TimeSpan wait);

    [LoggerMessage(21, LogLevel.Warning, "Refunding job {JobId} failed; its credits were not returned yet.")]
    public static partial void RefundFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(23, LogLevel.Warning, "Publishing the {EventType} event of job {JobId} failed.")]
    public static partial void PublishFailed(ILogger logger, string jobId, JobEventType eventType, Exception exception);

    [LoggerMessage(24, LogLevel.Information, "Sweeper settled job {JobId}'s open reservation ({Refunded} credit(s) refunded).")]
    public static partial void SweptReservation(ILogger logger, string jobId, long refunded);

    [LoggerMessage(25, LogLevel.Information, "Job {JobId} succeeded after {Attempt} attempt(s) with {OutputCount} output(s); {FailedCount} output(s) failed and {Refunded} credit(s) were refunded.")]
    public static partial void JobPartlySucceeded(ILogger logger, string jobId, int attempt, int outputCount, int failedCount, long refunded);

    [LoggerMessage(26, LogLevel.Warning, "Output {Index} of job {JobId} failed with {ErrorCode}: {Message}")]
    public static partial void OutputFailed(ILogger logger, string jobId, int index, string errorCode, string message);

    [LoggerMessage(27, LogLevel.Warning, "The pause store cannot be reached; the rate-limit pause of {Provider} holds in this process only for now.")]
    public static partial void PauseStoreUnavailable(ILogger logger, string provider, Exception exception);

    [LoggerMessage(28, LogLevel.Warning, "Signalling the cancel of job {JobId} failed; the worker running it applies the cancel at its next lease renewal.")]
    public static partial void CancelSignalFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(29, LogLevel.Warning, "Listening for cancel signals failed; retrying in {Delay}. Meanwhile cancels from other processes land at lease renewals.")]
    public static partial void CancelListenFailed(ILogger logger, TimeSpan delay, Exception exception);

    [LoggerMessage(30, LogLevel.Debug, "Job {JobId}'s running attempt was stopped by its cancel signal.")]
    public static partial void CancelSignalApplied(ILogger logger, string jobId);

    [LoggerMessage(31, LogLevel.Information, "Job {JobId} was retried as run {Run}, charged {Credits} credit(s).")]
    public static partial void JobRetried(ILogger logger, string jobId, int run, long credits);

    [LoggerMessage(32, LogLevel.Information, "Dead letter {MessageId} was replayed: job {JobId} is {Status} in run {Run}.")]
    public static partial void DeadLetterReplayed(ILogger logger, string messageId, string jobId, JobStatus status, int run);

    [LoggerMessage(33, LogLevel.Information, "A submission of owner {OwnerId} was refused by moderator {Moderator} ({Field}).")]
    public static partial void SubmissionBlocked(ILogger logger, string ownerId, string moderator, string field);

    [LoggerMessage(34, LogLevel.Warning, "The thumbnail of output {Index} of job {JobId} could not be made; the output is kept without one.")]
    public static partial void ThumbnailFailed(ILogger logger, string jobId, int index, Exception exception);

    [LoggerMessage(35, LogLevel.Warning, "Worker {WorkerId} could not record its heartbeat.")]
    public static partial void HeartbeatFailed(ILogger logger, string workerId, Exception exception);

    [LoggerMessage(46, LogLevel.Information, "Job {JobId} was served from the result cache, charged {Credits} credit(s).")]
    public static partial void CacheHit(ILogger logger, string jobId, long credits);

    [LoggerMessage(47, LogLevel.Warning, "The result cache could not be read for job {JobId}; it is generated as usual.")]
    public static partial void CacheLookupFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(48, LogLevel.Warning, "Copying cached outputs for job {JobId} failed; it is generated as usual.")]
    public static partial void CacheCopyFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(49, LogLevel.Warning, "The result cache entry for job {JobId} could not be written or removed.")]
    public static partial void CacheRecordFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(50, LogLevel.Warning, "Cached outputs copied for job {JobId}, which was not created, could not be deleted; its reservation stays open for the sweeper.")]
    public static partial void CacheCopyCleanupFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(59, LogLevel.Warning, "Job {JobId}, served from the result cache, is stored; settling its charge and sending its event and webhook failed, and the sweeper does it later.")]
    public static partial void CacheHitFinishFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(60, LogLevel.Warning, "Job {JobId} was to be served from the result cache, but {Elapsed} passed between its reservation and its job write (the limit is {Limit}, half the sweeper's stale period); it is given up and the request is generated instead.")]
    public static partial void CacheHitTooSlow(ILogger logger, string jobId, TimeSpan elapsed, TimeSpan limit);

    [LoggerMessage(57, LogLevel.Debug, "Renewing the lease on job {JobId}, which ends at {LockedUntil}.")]
    public static partial void RenewingLease(ILogger logger, string jobId, DateTimeOffset lockedUntil);

    [LoggerMessage(58, LogLevel.Debug, "Renewal of the lease on job {JobId} done; the lease ends at {LockedUntil}.")]
    public static partial void LeaseRenewalDone(ILogger logger, string jobId, DateTimeOffset lockedUntil);

    [LoggerMessage(56, LogLevel.Error, "The terminal webhook delivery {DeliveryId} of job {JobId} could not be written to the outbox after its step committed, and is lost.")]
    public static partial void WebhookNotStored(ILogger logger, string jobId, string deliveryId, Exception exception);
}
