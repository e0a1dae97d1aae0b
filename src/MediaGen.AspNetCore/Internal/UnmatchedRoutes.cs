using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;

namespace MediaGen.AspNetCore.Internal;

/// <summary>
/// The API's fallback, below every other endpoint under its prefix: a path of the API with another method is 405 with
/// <c>Allow</c>, with its method but a body that is not JSON 415 (routing refused the content type), any other path
/// 404, all as problems, rather than the bare status routing would answer.
/// </summary>
internal sealed class UnmatchedRoutes
{
    private readonly Lazy<(TemplateMatcher Matcher, string[] Methods)[]> _routes;

    public UnmatchedRoutes(EndpointDataSource endpoints, ApiGroupMarker marker)
    {
        _routes = new(() => endpoints.Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => ReferenceEquals(e.Metadata.GetMetadata<ApiGroupMarker>(), marker) && e.Metadata.GetMetadata<IHttpMethodMetadata>() is { HttpMethods.Count: > 0 })
            .Select(e => (new TemplateMatcher(new RouteTemplate(e.RoutePattern), new RouteValueDictionary()), e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods.ToArray()))
            .ToArray());
    }

    public IResult Answer(HttpContext http)
    {
        var methods = _routes.Value
            .Where(r => r.Matcher.TryMatch(http.Request.Path, new RouteValueDictionary()))
            .SelectMany(r => r.Methods)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToArray();
        if (methods.Contains(http.Request.Method, StringComparer.OrdinalIgnoreCase))
        {
            return ProblemResponses.FromException(JsonBodyReader.NotJson(), maxErrors: 1);
        }

        if (methods.Length > 0)
        {
            http.Response.Headers.Allow = string.Join(", ", methods);
            return ProblemResponses.Problem(
                StatusCodes.Status405MethodNotAllowed,
                MediaGenerationApiErrorCodes.MethodNotAllowed,
                "The method is not allowed here.",
                "See the Allow header for the methods this path takes.");
        }

        return ProblemResponses.Problem(
            StatusCodes.Status404NotFound,
            MediaGenerationApiErrorCodes.RouteNotFound,
            "No such endpoint.",
            "The API has no endpoint at this path.");
    }
}

/// <summary>Marks the endpoints of one <c>MapMediaGeneration</c> call, so its fallback knows its own routes.</summary>
internal sealed class ApiGroupMarker;
