namespace MediaGen;

/// <summary>The stable error codes MediaGen puts on exceptions and on <see cref="JobError.Code"/>.</summary>
public static class MediaGenErrorCodes
{
    /// <summary>The request failed validation.</summary>
    public const string ValidationFailed = "validation_failed";

    /// <summary>The owner's balance is lower than the model's cost.</summary>
    public const string InsufficientCredits = "insufficient_credits";

    /// <summary>The owner already has the most pending jobs allowed.</summary>
    public const string TooManyPendingJobs = "too_many_pending_jobs";

    /// <summary>The owner submitted more jobs in the current window than allowed.</summary>
    public const string SubmissionRateExceeded = "submission_rate_exceeded";

    /// <summary>No such job for this owner.</summary>
    public const string JobNotFound = "job_not_found";

    /// <summary>The job's status does not allow the operation.</summary>
    public const string InvalidTransition = "invalid_transition";

    /// <summary>An idempotency key was reused for different work.</summary>
    public const string IdempotencyKeyReused = "idempotency_key_reused";

    /// <summary>The queue could not accept the job.</summary>
    public const string QueueUnavailable = "queue_unavailable";

    /// <summary>A lease was no longer held when it was settled or renewed.</summary>
    public const string LeaseLost = "lease_lost";

    /// <summary>The storage has no object under the key.</summary>
    public const string StorageObjectNotFound = "storage_object_not_found";

    /// <summary>A storage key is malformed or escapes the storage root.</summary>
    public const string InvalidStorageKey = "invalid_storage_key";

    /// <summary>The storage is misconfigured or unreachable.</summary>
    public const string StorageUnavailable = "storage_unavailable";

    /// <summary>The generator failed with a transient error.</summary>
    public const string GeneratorTransient = "generator_transient";

    /// <summary>The generator failed with a permanent error.</summary>
    public const string GeneratorPermanent = "generator_failed";

    /// <summary>
    /// An output the request asked for that the generator did not return: the worker names with this code the outputs a
    /// result neither delivers nor names as failed, and the bundled generators name with it the images a provider left
    /// out of its answer (a safety checker can drop some). Their share is refunded like any failed output's.
    /// </summary>
    public const string OutputMissing = "output_missing";

    /// <summary>The provider rate-limited the request (HTTP 429).</summary>
    public const string ProviderRateLimited = "provider_rate_limited";

    /// <summary>A content moderator refused the request at submission; nothing was written or charged.</summary>
    public const string ContentBlocked = "content_blocked";

    /// <summary>The provider's content filter refused the request or output.</summary>
    public const string ContentFiltered = "content_filtered";

    /// <summary>
    /// A synchronous provider call with no handle to resume (an image generator that answers with the images) was cut off
    /// by a crash, timeout or lost connection: the provider may have generated and charged for the images, so the job is
    /// failed instead of being called again blindly.
    /// </summary>
    public const string OutcomeUnknown = "outcome_unknown";

    /// <summary>
    /// The provider deleted a finished generation's outputs (Replicate keeps them an hour) before they were stored, so the
    /// job cannot resume it.
    /// </summary>
    public const string ProviderOutputExpired = "provider_output_expired";

    /// <summary>An attempt took longer than the per-attempt timeout.</summary>
    public const string AttemptTimedOut = "attempt_timed_out";

    /// <summary>The job's overall deadline passed.</summary>
    public const string DeadlineExceeded = "deadline_exceeded";

    /// <summary>Every allowed attempt failed.</summary>
    public const string AttemptsExhausted = "attempts_exhausted";

    /// <summary>The job could not be enqueued after it was written.</summary>
    public const string EnqueueFailed = "enqueue_failed";

    /// <summary>A queue message could not be read as a MediaGen job message.</summary>
    public const string MalformedMessage = "malformed_message";

    /// <summary>An unexpected error inside the worker or a generator.</summary>
    public const string InternalError = "internal_error";
}
