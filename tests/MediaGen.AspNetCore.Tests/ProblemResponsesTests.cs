using MediaGen.AspNetCore.Internal;
using Microsoft.AspNetCore.Mvc;

namespace MediaGen.AspNetCore.Tests;

public sealed class ProblemResponsesTests
{
    public static TheoryData<Exception, int, string, long?> Mappings => new()
    {
        { new RequestValidationException("prompt", "Must not be blank."), 400, "validation_failed", null },
        { new InsufficientCreditsException("o", 4, 2), 402, "insufficient_credits", null },
        { new OwnerLimitExceededException("o", OwnerLimit.SubmissionRate, 10, TimeSpan.FromSeconds(2.1)), 429, "submission_rate_exceeded", 3 },
        { new OwnerLimitExceededException("o", OwnerLimit.PendingJobs, 3, TimeSpan.FromMilliseconds(10)), 429, "too_many_pending_jobs", 1 },
        { new JobNotFoundException("j"), 404, "job_not_found", null },
        { new InvalidJobTransitionException("j", JobStatus.Succeeded, JobStatus.Canceled), 409, "invalid_transition", null },
        { new IdempotencyKeyReusedException("k", "j"), 409, "idempotency_key_reused", null },
        { new QueueUnavailableException("down"), 503, "queue_unavailable", 5 },
        { new StorageUnavailableException("down"), 503, "storage_unavailable", 5 },
        { new BadHttpRequestException("Unexpected end of request content.", 400), 400, "bad_request", null },
        { new LeaseLostException("m"), 500, "lease_lost", null },
        { new InvalidOperationException("a bug"), 500, "internal_error", null },
    };

    [Theory]
    [MemberData(nameof(Mappings))]
    public async Task FromException_MapsEachErrorToItsStatusCodeAndRetryAfter(Exception exception, int status, string code, long? retryAfter)
    {
        var result = ProblemResponses.FromException(exception, maxErrors: 20);
        var http = new DefaultHttpContext { RequestServices = new ServiceCollection().BuildServiceProvider() };
        http.Response.Body = new MemoryStream();
        http.Request.Headers.Accept = "text/html";

        await result.ExecuteAsync(http);

        Assert.Equal(status, http.Response.StatusCode);
        Assert.Equal("application/problem+json", http.Response.ContentType?.Split(';')[0]);
        Assert.Equal(code, result.ProblemDetails.Extensions["code"]);
        Assert.Equal(retryAfter?.ToString(System.Globalization.CultureInfo.InvariantCulture), http.Response.Headers.RetryAfter.ToString() is { Length: > 0 } r ? r : null);
        if (status >= 500)
        {
            // A server error names its code only; the exception's message stays in the log.
            Assert.DoesNotContain(exception.Message, result.ProblemDetails.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void FromException_ManyFieldErrors_ListsTheCapAndCountsThemAll()
    {
        var errors = Enumerable.Range(0, 1000).ToDictionary(i => $"parameters.{i}.{new string('x', 1000)}", i => new[] { new string('m', 5000) });

        var problem = Assert.IsType<HttpValidationProblemDetails>(ProblemResponses.FromException(new RequestValidationException(errors), maxErrors: 5).ProblemDetails);

        Assert.Equal(5, problem.Errors.Count);
        Assert.Equal(1000, problem.Extensions["errorCount"]);
        Assert.All(problem.Errors, e => Assert.True(e.Key.Length <= 257 && e.Value.Single().Length <= 257));
        Assert.Equal("See errors for each field.", problem.Detail);
    }
}
