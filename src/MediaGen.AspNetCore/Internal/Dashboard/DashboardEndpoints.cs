using System.Reflection;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace MediaGen.AspNetCore.Internal.Dashboard;

/// <summary>
/// The dashboard's routes: its page and assets (embedded in this assembly, no CDN), its JSON endpoints under
/// <c>api/</c>, and its two actions (replay and delete a dead letter), which are POSTs checked for the antiforgery token.
/// </summary>
internal static class DashboardEndpoints
{
    private const string ContentSecurityPolicy = "default-src 'self'; img-src * data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    public static void Map(RouteGroupBuilder dashboard)
    {
        dashboard.MapGet("/", Page);
        dashboard.MapGet("/dashboard.js", (HttpContext http) => Asset(http, "dashboard.js", "text/javascript; charset=utf-8"));
        dashboard.MapGet("/dashboard.css", (HttpContext http) => Asset(http, "dashboard.css", "text/css; charset=utf-8"));

        var api = dashboard.MapGroup("/api");
        api.MapGet("/antiforgery", GetAntiforgery);
        api.MapGet("/queue", async (DashboardQueries q, CancellationToken ct) => Json(await q.GetQueueAsync(ct).ConfigureAwait(false)));
        api.MapGet("/throughput", (DashboardQueries q) => Json(q.GetThroughput()));
        api.MapGet("/running", async (DashboardQueries q, CancellationToken ct) => Json(await q.GetRunningAsync(ct).ConfigureAwait(false)));
        api.MapGet("/workers", async (DashboardQueries q, CancellationToken ct) => Json(await q.GetWorkersAsync(ct).ConfigureAwait(false)));
        api.MapGet("/failures", async (DashboardQueries q, CancellationToken ct) => Json(await q.GetFailuresAsync(ct).ConfigureAwait(false)));
        api.MapGet("/dead-letters", async (DashboardQueries q, CancellationToken ct) => Json(await q.GetDeadLettersAsync(ct).ConfigureAwait(false)));
        api.MapGet("/jobs/{id}", GetJobAsync);
        api.MapPost("/dead-letters/{messageId}/replay", ReplayAsync);
        api.MapPost("/dead-letters/{messageId}/delete", DeleteAsync);
    }

    private static IResult Page(HttpContext http)
    {
        // Relative asset and API URLs need the trailing slash.
        if (!http.Request.Path.Value!.EndsWith('/'))
        {
            return Results.Redirect($"{http.Request.PathBase}{http.Request.Path}/{http.Request.QueryString}");
        }

        return Asset(http, "dashboard.html", "text/html; charset=utf-8");
    }

    private static IResult Asset(HttpContext http, string name, string contentType)
    {
        var headers = http.Response.Headers;
        headers.CacheControl = "no-store";
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        var stream = typeof(DashboardEndpoints).Assembly.GetManifestResourceStream("MediaGen.Dashboard." + name)
            ?? throw new InvalidOperationException($"The dashboard asset {name} is missing from the assembly.");
        return Results.Stream(stream, contentType);
    }

    private static IResult GetAntiforgery(HttpContext http, IAntiforgery antiforgery, IOptions<AntiforgeryOptions> options)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        http.Response.Headers.CacheControl = "no-store";
        return Json(new AntiforgeryToken(tokens.HeaderName ?? options.Value.HeaderName ?? "RequestVerificationToken", tokens.RequestToken!));
    }

    private static async Task<IResult> GetJobAsync(string id, DashboardQueries queries, CancellationToken cancellationToken) =>
        await queries.GetJobAsync(id, cancellationToken).ConfigureAwait(false) is { } detail
            ? Json(detail)
            : ProblemResponses.Problem(StatusCodes.Status404NotFound, MediaGenErrorCodes.JobNotFound, "No such job.", "No job has that id.");

    private static async Task<IResult> ReplayAsync(string messageId, IMediaGenerationClient client, ResponseMapper mapper, CancellationToken cancellationToken)
    {
        var job = await client.ReplayDeadLetterAsync(messageId, cancellationToken).ConfigureAwait(false);
        return job is null
            ? DeadLetterNotFound()
            : Json(await mapper.ToResponseAfterChangeAsync(job, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<IResult> DeleteAsync(string messageId, IJobQueue queue, CancellationToken cancellationToken) =>
        await queue.DeleteDeadLetterAsync(messageId, cancellationToken).ConfigureAwait(false) ? Results.NoContent() : DeadLetterNotFound();

    private static ProblemResult DeadLetterNotFound() =>
        ProblemResponses.Problem(StatusCodes.Status404NotFound, MediaGenerationApiErrorCodes.DeadLetterNotFound, "No such dead letter.", "It was replayed or deleted already, or its job no longer exists.");

    private static IResult Json<T>(T value) => Results.Json(value, ApiJson.TypeInfo<T>());
}

/// <summary>The antiforgery header name and request token the dashboard's page sends with its actions.</summary>
internal sealed record AntiforgeryToken(string HeaderName, string Token);
