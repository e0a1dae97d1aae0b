using System.Net;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen.AspNetCore.Internal.Dashboard;

/// <summary>
/// The dashboard's default protection when the host names no authorization policy: only local requests, from a loopback
/// address or from the server's own address (Hangfire's <c>LocalRequestsOnlyAuthorizationFilter</c>). A request with no
/// remote address (an in-memory test server) is not local.
/// </summary>
internal sealed class LocalRequestsOnlyFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        IsLocal(context.HttpContext.Connection)
            ? await next(context).ConfigureAwait(false)
            : ProblemResponses.Problem(
                StatusCodes.Status403Forbidden,
                MediaGenerationApiErrorCodes.DashboardLocalOnly,
                "The dashboard answers only local requests.",
                "Name an authorization policy in the dashboard's options to open it to other addresses.");

    internal static bool IsLocal(ConnectionInfo connection) =>
        connection.RemoteIpAddress is { } remote
        && (IPAddress.IsLoopback(remote) || remote.Equals(connection.LocalIpAddress));
}

/// <summary>
/// Checks the antiforgery token (cookie plus header) on every dashboard action, so a page on another site cannot make an
/// operator's browser replay or delete dead letters; and turns what an endpoint throws into a problem response.
/// </summary>
internal sealed class DashboardEndpointFilter(IAntiforgery antiforgery, IOptions<MediaGenerationApiOptions> apiOptions, ILogger<DashboardEndpointFilter> logger) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        try
        {
            if (HttpMethods.IsPost(http.Request.Method))
            {
                await antiforgery.ValidateRequestAsync(http).ConfigureAwait(false);
            }

            return await next(context).ConfigureAwait(false);
        }
        catch (AntiforgeryValidationException)
        {
            return ProblemResponses.Problem(
                StatusCodes.Status400BadRequest,
                MediaGenerationApiErrorCodes.AntiforgeryFailed,
                "The antiforgery token is missing or invalid.",
                "Reload the dashboard and try again.");
        }
        catch (Exception e) when (!http.Response.HasStarted || ApiEndpointFilter.ClientGone(http, e))
        {
            return ApiEndpointFilter.Answer(http, e, apiOptions.Value.MaxValidationErrors, logger);
        }
    }
}
