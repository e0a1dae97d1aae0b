using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen.AspNetCore.Internal;

/// <summary>
/// Runs around every endpoint of the API: finds the request's owner on the authenticated user (401 without one), and
/// turns whatever the endpoint throws into a problem response, so no error leaves the API as a bare status or a
/// rethrown exception.
/// </summary>
internal sealed class ApiEndpointFilter(IOptions<MediaGenerationApiOptions> options, ILogger<ApiEndpointFilter> logger) : IEndpointFilter
{
    private static readonly object OwnerKey = new();

    public static string GetOwner(HttpContext context) =>
        context.Items[OwnerKey] as string ?? throw new InvalidOperationException("The MediaGen endpoint filter did not run for this endpoint.");

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        try
        {
            if (FindOwner(http) is not { } owner)
            {
                return await UnauthenticatedAsync(http).ConfigureAwait(false);
            }

            http.Items[OwnerKey] = owner;
            return await next(context).ConfigureAwait(false);
        }
        catch (Exception e) when (!http.Response.HasStarted || ClientGone(http, e))
        {
            return Answer(http, e, options.Value.MaxValidationErrors, logger);
        }
    }

    /// <summary>Whether <paramref name="exception"/> is the cancellation of a request whose client went away.</summary>
    internal static bool ClientGone(HttpContext http, Exception exception) =>
        exception is OperationCanceledException && http.RequestAborted.IsCancellationRequested;

    /// <summary>
    /// What an endpoint of the API or the dashboard answers when it throws: nothing when the client went away, else the
    /// exception's problem response; a 5xx is logged.
    /// </summary>
    internal static IResult Answer(HttpContext http, Exception exception, int maxValidationErrors, ILogger logger)
    {
        if (ClientGone(http, exception))
        {
            // The client went away; there is no one to answer.
            return Results.Empty;
        }

        var result = ProblemResponses.FromException(exception, maxValidationErrors);
        if (result.StatusCode >= StatusCodes.Status500InternalServerError)
        {
            Log.EndpointFailed(logger, http.Request.Method, http.Request.Path, exception);
        }

        return result;
    }

    private string? FindOwner(HttpContext http)
    {
        var user = http.User;
        if (user.Identity?.IsAuthenticated != true)
        {
            return null;
        }

        foreach (var type in options.Value.OwnerClaimTypes)
        {
            if (user.FindFirst(type)?.Value is { Length: > 0 } owner && !string.IsNullOrWhiteSpace(owner))
            {
                return owner;
            }
        }

        return null;
    }

    private static async Task<IResult> UnauthenticatedAsync(HttpContext http)
    {
        // Let the host's authentication scheme say how to authenticate (WWW-Authenticate, or a redirect to a login
        // page); the API adds a problem body to a plain 401.
        var schemes = http.RequestServices.GetService<IAuthenticationSchemeProvider>();
        if (schemes is not null && await schemes.GetDefaultChallengeSchemeAsync().ConfigureAwait(false) is not null)
        {
            await http.ChallengeAsync().ConfigureAwait(false);
            if (http.Response.HasStarted || http.Response.StatusCode != StatusCodes.Status401Unauthorized)
            {
                return Results.Empty;
            }
        }

        return ProblemResponses.Problem(
            StatusCodes.Status401Unauthorized,
            MediaGenerationApiErrorCodes.Unauthenticated,
            "Authentication is required.",
            "The request carries no authenticated user with an owner id.");
    }
}
