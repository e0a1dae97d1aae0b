using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace MediaGen.Samples.Api;

/// <summary>
/// Turns MediaGen's exceptions (and malformed requests) into ProblemDetails: 400 with field errors, 402 for
/// insufficient credits, 404 for an unknown job, 409 for a state or idempotency conflict, 422 for a request refused by
/// content moderation, 429 with Retry-After for an owner over a submission limit, 503 when the queue is down.
/// Anything else is a 500 that reveals nothing.
/// </summary>
internal sealed class MediaGenExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (httpContext.Response.HasStarted)
        {
            return false;
        }

        var problem = Map(exception);
        if (problem is null)
        {
            // The exception handler middleware logs it and answers with a bare 500 ProblemDetails.
            return false;
        }

        if (exception is QueueUnavailableException)
        {
            httpContext.Response.Headers.RetryAfter = "5";
        }
        else if (exception is OwnerLimitExceededException limited)
        {
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds(limited.RetryAfter).ToString(CultureInfo.InvariantCulture);
        }

        httpContext.Response.StatusCode = problem.Status ?? StatusCodes.Status500InternalServerError;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    internal static ProblemDetails? Map(Exception exception)
    {
        var problem = exception switch
        {
            RequestValidationException e => new HttpValidationProblemDetails(e.Errors.ToDictionary(kv => kv.Key, kv => kv.Value))
            {
                Status = StatusCodes.Status400BadRequest,
                Title = "The request is invalid.",
                Detail = "See errors for each field.",
            },
            InsufficientCreditsException e => new ProblemDetails
            {
                Status = StatusCodes.Status402PaymentRequired,
                Title = "Not enough credits.",
                Detail = e.Message,
                Extensions = { ["requested"] = e.Requested, ["available"] = e.Available },
            },
            OwnerLimitExceededException e => new ProblemDetails
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = e.Limit == OwnerLimit.PendingJobs ? "Too many pending jobs." : "Too many submissions.",
                Detail = e.Message,
                Extensions = { ["limit"] = e.Allowed, ["retryAfter"] = RetryAfterSeconds(e.RetryAfter) },
            },
            ContentBlockedException e => new ProblemDetails
            {
                Status = StatusCodes.Status422UnprocessableEntity,
                Title = "The request was refused by content moderation.",
                Detail = e.Reason,
                Extensions = { ["field"] = e.Field, ["moderator"] = e.Moderator },
            },
            JobNotFoundException e => new ProblemDetails
            {
                Status = StatusCodes.Status404NotFound,
                Title = "No such job.",
                Detail = e.Message,
            },
            InvalidJobTransitionException e => new ProblemDetails
            {
                Status = StatusCodes.Status409Conflict,
                Title = "The job's status does not allow this.",
                Detail = e.Message,
                Extensions = { ["jobStatus"] = JsonNamingPolicy.CamelCase.ConvertName(e.From.ToString()) },
            },
            IdempotencyKeyReusedException e => new ProblemDetails
            {
                Status = StatusCodes.Status409Conflict,
                Title = "The idempotency key was already used for a different request.",
                Detail = e.Message,
                Extensions = { ["existingJobId"] = e.ExistingJobId },
            },
            QueueUnavailableException e => new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "The job queue is unavailable; try again later.",
                Detail = e.Message,
            },
            BadHttpRequestException { InnerException: JsonException json } => JsonProblem(json),
            BadHttpRequestException e => new ProblemDetails
            {
                Status = e.StatusCode,
                Title = "The request is malformed.",
                Detail = e.Message,
            },
            _ => null,
        };

        if (problem is not null && exception is MediaGenException mediaGen)
        {
            problem.Extensions["code"] = mediaGen.ErrorCode;
        }

        return problem;
    }

    // Whole seconds, rounded up so that a client waiting that long finds room.
    private static long RetryAfterSeconds(TimeSpan retryAfter) => Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));

    private static ProblemDetails JsonProblem(JsonException json)
    {
        // "$.settings.width" -> "settings.width"; "$" (the body itself) -> "body".
        var path = json.Path is { Length: > 2 } p && p.StartsWith("$.", StringComparison.Ordinal) ? p[2..] : "body";
        var detail = json.LineNumber is { } line
            ? string.Create(CultureInfo.InvariantCulture, $"The JSON body could not be read at line {line + 1}, position {json.BytePositionInLine + 1}.")
            : "The JSON body could not be read.";
        return new HttpValidationProblemDetails(new Dictionary<string, string[]> { [path] = [detail] })
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "The request body is not valid JSON for this endpoint.",
            Detail = detail,
            Extensions = { ["code"] = "malformed_json" },
        };
    }
}
