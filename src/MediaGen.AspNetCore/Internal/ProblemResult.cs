using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace MediaGen.AspNetCore.Internal;

/// <summary>
/// Writes a problem details response whatever the request's Accept header: through the host's
/// <see cref="IProblemDetailsService"/> when it has one and it agrees (so the host's customizations apply), else as
/// <c>application/problem+json</c> written here, since a client that asked for something else still needs to know why.
/// </summary>
internal sealed class ProblemResult(ProblemDetails problem, long? retryAfterSeconds) : IResult, IStatusCodeHttpResult
{
    public const string ContentType = "application/problem+json";

    public ProblemDetails ProblemDetails => problem;

    public int? StatusCode => problem.Status;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var response = httpContext.Response;
        response.StatusCode = problem.Status ?? StatusCodes.Status500InternalServerError;
        if (retryAfterSeconds is { } seconds)
        {
            response.Headers.RetryAfter = ProblemResponses.FormatSeconds(seconds);
        }

        problem.Type ??= TypeFor(response.StatusCode);
        var service = httpContext.RequestServices.GetService<IProblemDetailsService>();
        if (service is not null
            && await service.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem }).ConfigureAwait(false))
        {
            return;
        }

        // The runtime type, so a validation problem keeps its errors.
        await response.WriteAsJsonAsync(problem, ApiJson.Options.GetTypeInfo(problem.GetType()), ContentType, httpContext.RequestAborted).ConfigureAwait(false);
    }

    // The RFC sections ASP.NET Core itself links for each status, so a problem written here looks like one written by the framework.
    private static string? TypeFor(int status) => status switch
    {
        400 => "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        401 => "https://tools.ietf.org/html/rfc9110#section-15.5.2",
        402 => "https://tools.ietf.org/html/rfc9110#section-15.5.3",
        404 => "https://tools.ietf.org/html/rfc9110#section-15.5.5",
        405 => "https://tools.ietf.org/html/rfc9110#section-15.5.6",
        409 => "https://tools.ietf.org/html/rfc9110#section-15.5.10",
        413 => "https://tools.ietf.org/html/rfc9110#section-15.5.14",
        415 => "https://tools.ietf.org/html/rfc9110#section-15.5.16",
        429 => "https://tools.ietf.org/html/rfc6585#section-4",
        500 => "https://tools.ietf.org/html/rfc9110#section-15.6.1",
        503 => "https://tools.ietf.org/html/rfc9110#section-15.6.4",
        _ => null,
    };
}
