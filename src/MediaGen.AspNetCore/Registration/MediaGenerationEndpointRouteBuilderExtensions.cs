using MediaGen.AspNetCore.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps MediaGen's HTTP API.</summary>
public static class MediaGenerationEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps MediaGen's HTTP API under <paramref name="prefix"/>: <c>POST /generations</c> (submit),
    /// <c>GET /generations</c> (list), <c>GET|DELETE /generations/{id}</c>, <c>POST /generations/{id}/cancel</c>,
    /// <c>POST /generations/{id}/retry</c>, <c>GET /generations/{id}/events</c> (server-sent events),
    /// <c>GET /models</c> and <c>GET /credits</c>; with file-system storage served from a path of this host (its
    /// <c>PublicBaseUrl</c>, <c>/media/</c> by default), also the outputs there, under signed, expiring URLs only and outside
    /// the returned group's policies (the signature is the credential). Every call acts for the owner named by the authenticated user's claims
    /// (<see cref="MediaGen.MediaGenerationApiOptions.OwnerClaimTypes"/>); a request without one is 401. Every error is
    /// <c>application/problem+json</c> with a stable <c>code</c>, whatever the request's Accept header.
    /// </summary>
    /// <param name="endpoints">The application or another route builder.</param>
    /// <param name="prefix">The route prefix, such as <c>/api/v1</c>.</param>
    /// <returns>
    /// The route group, so the host adds its own policies to every endpoint of the API:
    /// <c>.RequireAuthorization()</c>, <c>.RequireRateLimiting(...)</c>, <c>.RequireCors(...)</c>.
    /// </returns>
    /// <exception cref="InvalidOperationException"><c>AddHttpApi()</c> was not called on MediaGen's builder.</exception>
    public static RouteGroupBuilder MapMediaGeneration(this IEndpointRouteBuilder endpoints, string prefix = "/api/v1")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        if (endpoints.ServiceProvider.GetService<ResponseMapper>() is null)
        {
            throw new InvalidOperationException(
                "MediaGen's HTTP API is not registered: call services.AddMediaGeneration(...).AddHttpApi() before MapMediaGeneration.");
        }

        var marker = new ApiGroupMarker();
        var api = endpoints.MapGroup(prefix)
            .WithMetadata(marker)
            .AddEndpointFilter<ApiEndpointFilter>()
            .WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status401Unauthorized, typeof(ProblemDetails), [ProblemResult.ContentType]));
        GenerationEndpoints.Map(api);

        MediaEndpoint.MapIfServedHere(endpoints);
        var unmatched = new UnmatchedRoutes(endpoints.ServiceProvider.GetRequiredService<EndpointDataSource>(), marker);
        // What MapFallback does, spelled out: under the request delegate generator MapFallback(pattern, handler) drops
        // the pattern for its default "{*path:nonfile}", and a path that looks like a file would get a bare 404.
        api.Map("{**path}", unmatched.Answer)
            .ExcludeFromDescription()
            .Add(endpoint => ((RouteEndpointBuilder)endpoint).Order = int.MaxValue);
        return api;
    }
}
