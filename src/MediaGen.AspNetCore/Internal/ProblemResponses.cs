using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace MediaGen.AspNetCore.Internal;

/// <summary>
/// Turns MediaGen's exceptions and the API's own request errors into RFC 9457 problem details with a stable
/// <c>code</c>: 400 with field errors (at most <see cref="MediaGenerationApiOptions.MaxValidationErrors"/>, and
/// <c>errorCount</c>), 402 insufficient credits, 404 unknown job, 409 a state or idempotency conflict, 413/415 a body
/// too large or not JSON, 429 with Retry-After for an owner over a limit, 503 with Retry-After when the queue or storage
/// is down. Other MediaGen exceptions are a 500 that names only their code. A 5xx never carries the exception's message,
/// which can name the backend's hosts.
/// </summary>
internal static class ProblemResponses
{
    private const int MaxTextLength = 256;

    public static ProblemResult FromException(Exception exception, int maxErrors) => exception switch
    {
        RequestValidationException e => Validation(e.Errors, maxErrors, MediaGenErrorCodes.ValidationFailed, "The request is invalid.", "See errors for each field."),
        ApiRequestException { Errors: { } errors } e => Validation(errors, maxErrors, e.Code, e.Title, e.Detail, e.StatusCode),
        ApiRequestException e => Problem(e.StatusCode, e.Code, e.Title, e.Detail),
        InsufficientCreditsException e => Problem(StatusCodes.Status402PaymentRequired, e.ErrorCode, "Not enough credits.", e.Message, p =>
        {
            p.Extensions["requested"] = e.Requested;
            p.Extensions["available"] = e.Available;
        }),
        OwnerLimitExceededException e => Problem(
            StatusCodes.Status429TooManyRequests,
            e.ErrorCode,
            e.Limit == OwnerLimit.PendingJobs ? "Too many pending jobs." : "Too many submissions.",
            e.Message,
            p =>
            {
                p.Extensions["limit"] = e.Allowed;
                p.Extensions["retryAfter"] = RetryAfterSeconds(e.RetryAfter);
            },
            retryAfterSeconds: RetryAfterSeconds(e.RetryAfter)),
        ContentBlockedException e => Problem(StatusCodes.Status422UnprocessableEntity, e.ErrorCode, "The request was refused by content moderation.", Truncate(e.Reason), p =>
        {
            p.Extensions["field"] = e.Field;
            p.Extensions["moderator"] = e.Moderator;
        }),
        JobNotFoundException e => Problem(StatusCodes.Status404NotFound, e.ErrorCode, "No such job.", e.Message),
        InvalidJobTransitionException e => Problem(StatusCodes.Status409Conflict, e.ErrorCode, "The job's status does not allow this.", e.Message, p =>
            p.Extensions["jobStatus"] = JsonNamingPolicy.CamelCase.ConvertName(e.From.ToString())),
        IdempotencyKeyReusedException e => Problem(StatusCodes.Status409Conflict, e.ErrorCode, "The idempotency key was already used for a different request.", Truncate(e.Message), p =>
            p.Extensions["existingJobId"] = e.ExistingJobId),
        QueueUnavailableException e => Problem(StatusCodes.Status503ServiceUnavailable, e.ErrorCode, "The job queue is unavailable; try again later.", "The queue or the state behind it could not be reached.", retryAfterSeconds: 5),
        StorageUnavailableException e => Problem(StatusCodes.Status503ServiceUnavailable, e.ErrorCode, "The media storage is unavailable; try again later.", "The storage could not be reached.", retryAfterSeconds: 5),
        BadHttpRequestException e => Problem(e.StatusCode, MediaGenerationApiErrorCodes.BadRequest, "The request is malformed.", "The request could not be read."),
        MediaGenException e => Problem(StatusCodes.Status500InternalServerError, e.ErrorCode, "An unexpected error occurred.", "The error was logged."),
        _ => Problem(StatusCodes.Status500InternalServerError, MediaGenerationApiErrorCodes.InternalError, "An unexpected error occurred.", "The error was logged."),
    };

    public static ProblemResult Problem(
        int status,
        string code,
        string title,
        string detail,
        Action<ProblemDetails>? extend = null,
        long? retryAfterSeconds = null)
    {
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail };
        extend?.Invoke(problem);
        problem.Extensions["code"] = code;
        return new ProblemResult(problem, retryAfterSeconds);
    }

    /// <summary>Cuts text that may echo the request (a field name, an id) to a bounded length.</summary>
    public static string Truncate(string text) => text.Length <= MaxTextLength ? text : string.Concat(text.AsSpan(0, MaxTextLength), "…");

    private static ProblemResult Validation(
        IReadOnlyDictionary<string, string[]> errors,
        int maxErrors,
        string code,
        string title,
        string detail,
        int status = StatusCodes.Status400BadRequest)
    {
        var listed = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (field, messages) in errors)
        {
            if (listed.Count == maxErrors)
            {
                break;
            }

            listed.TryAdd(Truncate(field), messages.Take(maxErrors).Select(Truncate).ToArray());
        }

        var problem = new HttpValidationProblemDetails(listed) { Status = status, Title = title, Detail = detail };
        problem.Extensions["code"] = code;
        problem.Extensions["errorCount"] = errors.Count;
        return new ProblemResult(problem, retryAfterSeconds: null);
    }

    // Whole seconds, rounded up so that a client waiting that long finds room.
    private static long RetryAfterSeconds(TimeSpan retryAfter) => Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));

    internal static string FormatSeconds(long seconds) => seconds.ToString(CultureInfo.InvariantCulture);
}
