namespace MediaGen;

/// <summary>The base of every exception MediaGen throws on purpose; <see cref="ErrorCode"/> is stable and machine-readable.</summary>
public abstract class MediaGenException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errorCode">A code from <see cref="MediaGenErrorCodes"/>.</param>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause, if any.</param>
    protected MediaGenException(string errorCode, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorCode = errorCode;
    }

    /// <summary>The stable error code; see <see cref="MediaGenErrorCodes"/>.</summary>
    public string ErrorCode { get; }
}

/// <summary>A request failed validation. <see cref="Errors"/> maps each offending field to its messages.</summary>
public sealed class RequestValidationException : MediaGenException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errors">Field name to messages; must not be empty.</param>
    public RequestValidationException(IReadOnlyDictionary<string, string[]> errors)
        : base(MediaGenErrorCodes.ValidationFailed, BuildMessage(errors))
    {
        Errors = errors;
    }

    /// <summary>Creates the exception for a single field.</summary>
    /// <param name="field">The field name, for example <c>prompt</c>.</param>
    /// <param name="message">What is wrong with it.</param>
    public RequestValidationException(string field, string message)
        : this(new Dictionary<string, string[]> { [field] = [message] })
    {
    }

    /// <summary>Field name to validation messages.</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; }

    private static string BuildMessage(IReadOnlyDictionary<string, string[]> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return "The generation request is invalid: " +
            string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"));
    }
}

/// <summary>A content moderator (<see cref="IContentModerator"/>) refused the request; nothing was written or charged.</summary>
public sealed class ContentBlockedException : MediaGenException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="moderator">The moderator that refused (<see cref="IContentModerator.Name"/>).</param>
    /// <param name="field">The request field the refusal is about.</param>
    /// <param name="reason">Why, fit to show the person who sent the request.</param>
    public ContentBlockedException(string moderator, string field, string reason)
        : base(MediaGenErrorCodes.ContentBlocked, $"The request was refused by content moderation ({field}): {reason}")
    {
        Moderator = moderator;
        Field = field;
        Reason = reason;
    }

    /// <summary>The moderator that refused.</summary>
    public string Moderator { get; }

    /// <summary>The request field the refusal is about, for example <c>prompt</c>.</summary>
    public string Field { get; }

    /// <summary>Why the request was refused.</summary>
    public string Reason { get; }
}

/// <summary>The owner's balance cannot cover the reservation.</summary>
public sealed class InsufficientCreditsException : MediaGenException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="ownerId">The owner.</param>
    /// <param name="requested">Credits asked for.</param>
    /// <param name="available">Credits available.</param>
    public InsufficientCreditsException(string ownerId, long requested, long available)
        : base(MediaGenErrorCodes.InsufficientCredits, $"Owner '{ownerId}' has {available} credits; {requested} are needed.")
    {
        OwnerId = ownerId;
        Requested = requested;
        Available = available;
    }

    /// <summary>The owner.</summary>
    public string OwnerId { get; }

    /// <summary>Credits asked for.</summary>
    public long Requested { get; }

    /// <summary>Credits available when the reservation was refused.</summary>
    public long Available { get; }
}

/// <summary>Which per-owner limit refused a submission.</summary>
public enum OwnerLimit
{
    /// <summary>The most jobs the owner may have waiting in <see cref="JobStatus.Pending"/>.</summary>
    PendingJobs,

    /// <summary>The most submissions the owner may make per window.</summary>
    SubmissionRate,
}

/// <summary>
/// A submission was refused because its owner is over a limit (<see cref="OwnerLimit"/>). Nothing was written or charged;
/// the owner may try again after <see cref="RetryAfter"/>.
/// </summary>
public sealed class OwnerLimitExceededException : MediaGenException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="ownerId">The owner.</param>
    /// <param name="limit">The limit that refused the submission.</param>
    /// <param name="allowed">The limit's value.</param>
    /// <param name="retryAfter">When trying again may succeed.</param>
    public OwnerLimitExceededException(string ownerId, OwnerLimit limit, long allowed, TimeSpan retryAfter)
        : base(
            limit == OwnerLimit.PendingJobs ? MediaGenErrorCodes.TooManyPendingJobs : MediaGenErrorCodes.SubmissionRateExceeded,
            limit == OwnerLimit.PendingJobs
                ? $"Owner '{ownerId}' already has {allowed} pending jobs, the most allowed; try again once some have started."
                : $"Owner '{ownerId}' has made the {allowed} submissions allowed in this window; try again in {Math.Ceiling(retryAfter.TotalSeconds)} s.")
    {
        OwnerId = ownerId;
        Limit = limit;
        Allowed = allowed;
        RetryAfter = retryAfter;
    }

    /// <summary>The owner.</summary>
    public string OwnerId { get; }

    /// <summary>The limit that refused the submission.</summary>
    public OwnerLimit Limit { get; }

    /// <summary>The limit's value: pending jobs, or submissions per window.</summary>
    public long Allowed { get; }

    /// <summary>When trying again may succeed: the rest of the rate window, or a hint for the pending limit.</summary>
    public TimeSpan RetryAfter { get; }
}

/// <summary>No job with this id exists for this owner (another owner's job is reported the same way).</summary>
public sealed class JobNotFoundException : MediaGenException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="jobId">The job id asked for.</param>
    public JobNotFoundException(string jobId)
        : base(MediaGenErrorCodes.JobNotFound, $"Job '{jobId}' was not found.")
    {
        JobId = jobId;
    }

    /// <summary>The job id asked for.</summary>
    public string JobId { get; }
}

/// <summary>A status change that <see cref="JobStatusTransitions"/> does not allow, or an operation the job's status forbids.</summary>
public sealed class InvalidJobTransitionException : MediaGenException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="from">Its current status.</param>
    /// <param name="to">The status asked for.</param>
    public InvalidJobTransitionException(string jobId, JobStatus from, JobStatus to)
        : base(MediaGenErrorCodes.InvalidTransition, $"Job '{jobId}' cannot move from {from} to {to}.")
    {
        JobId = jobId;
        From = from;
        To = to;
    }

    /// <summary>Creates the exception with a message that says why the job's state refuses the operation.</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="from">Its current status.</param>
    /// <param name="to">The status asked for.</param>
    /// <param name="message">Why the operation was refused.</param>
    public InvalidJobTransitionException(string jobId, JobStatus from, JobStatus to, string message)
        : base(MediaGenErrorCodes.InvalidTransition, message)
    {
        JobId = jobId;
        From = from;
        To = to;
    }

    /// <summary>The job.</summary>
    public string JobId { get; }

    /// <summary>Its status when the change was refused.</summary>
    public JobStatus From { get; }

    /// <summary>The status asked for.</summary>
    public JobStatus To { get; }
}

/// <summary>An idempotency key that already names a job was sent with a different request.</summary>
public sealed class IdempotencyKeyReusedException : MediaGenException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="idempotencyKey">The key.</param>
    /// <param name="existingJobId">The job the key already names.</param>
    public IdempotencyKeyReusedException(string idempotencyKey, string existingJobId)
        : base(MediaGenErrorCodes.IdempotencyKeyReused, $"Idempotency key '{idempotencyKey}' was already used for job '{existingJobId}' with a different request.")
    {
        IdempotencyKey = idempotencyKey;
        ExistingJobId = existingJobId;
    }

    /// <summary>The key.</summary>
    public string IdempotencyKey { get; }

    /// <summary>The job the key already names.</summary>
    public string ExistingJobId { get; }
}

/// <summary>The queue (or the state behind it) cannot be reached; the operation can be retried later.</summary>
public sealed class QueueUnavailableException : MediaGenException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public QueueUnavailableException(string message, Exception? innerException = null)
        : base(MediaGenErrorCodes.QueueUnavailable, message, innerException)
    {
    }
}

/// <summary>A lease was settled or renewed after the queue had already given its message to someone else.</summary>
public sealed class LeaseLostException : MediaGenException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="messageId">The message whose lease was lost.</param>
    public LeaseLostException(string messageId)
        : base(MediaGenErrorCodes.LeaseLost, $"The lease on message '{messageId}' is no longer held.")
    {
        MessageId = messageId;
    }

    /// <summary>The message whose lease was lost.</summary>
    public string MessageId { get; }
}

/// <summary>The storage holds no object under the key.</summary>
public sealed class StorageObjectNotFoundException : MediaGenException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="key">The key asked for.</param>
    /// <param name="innerException">The provider's exception, if any.</param>
    public StorageObjectNotFoundException(string key, Exception? innerException = null)
        : base(MediaGenErrorCodes.StorageObjectNotFound, $"No stored object has the key '{key}'.", innerException)
    {
        Key = key;
    }

    /// <summary>The key asked for.</summary>
    public string Key { get; }
}

/// <summary>A storage key is malformed or would escape the storage root.</summary>
public sealed class InvalidStorageKeyException : MediaGenException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="key">The key.</param>
    /// <param name="reason">Why it is refused.</param>
    public InvalidStorageKeyException(string key, string reason)
        : base(MediaGenErrorCodes.InvalidStorageKey, $"The storage key '{key}' is not allowed: {reason}")
    {
        Key = key;
    }

    /// <summary>The key.</summary>
    public string Key { get; }
}

/// <summary>The storage is misconfigured or unreachable; the message says what to fix.</summary>
public sealed class StorageUnavailableException : MediaGenException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and what to fix.</param>
    /// <param name="innerException">The provider's exception.</param>
    public StorageUnavailableException(string message, Exception? innerException = null)
        : base(MediaGenErrorCodes.StorageUnavailable, message, innerException)
    {
    }
}
