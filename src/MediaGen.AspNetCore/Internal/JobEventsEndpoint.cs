using System.Globalization;
using System.Net.ServerSentEvents;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace MediaGen.AspNetCore.Internal;

/// <summary>
/// <c>GET {prefix}/generations/{id}/events</c> as server-sent events, written by System.Net.ServerSentEvents'
/// <see cref="SseFormatter"/> (through <c>TypedResults.ServerSentEvents</c> on .NET 10). An unknown job is a 404 problem
/// before the stream starts; then see <see cref="JobEventSession"/> for what the stream carries.
/// </summary>
internal static class JobEventsEndpoint
{
    public static async Task<IResult> StreamAsync(string id, HttpContext http, IMediaGenerationClient client, CancellationToken cancellationToken)
    {
        var owner = ApiEndpointFilter.GetOwner(http);
        // Unknown job or another owner's: a 404 problem, before the stream starts.
        await client.GetAsync(owner, GenerationEndpoints.CheckJobId(id), cancellationToken).ConfigureAwait(false);

        var session = ActivatorUtilities.CreateInstance<JobEventSession>(http.RequestServices, http, owner, id);
        // Proxies such as nginx would otherwise hold the events back in their buffers.
        http.Response.Headers["X-Accel-Buffering"] = "no";
#if NET10_0_OR_GREATER
        return TypedResults.ServerSentEvents(session.ReadAsync(LastEventId(http), http.RequestAborted));
#else
        return new ServerSentEventsResult(session.ReadAsync(LastEventId(http), http.RequestAborted));
#endif
    }

    /// <summary>
    /// The sequence of the last event the client has, from the <c>Last-Event-ID</c> header a reconnecting
    /// <c>EventSource</c> sends (or a <c>lastEventId</c> query parameter, for clients that cannot set headers); null when
    /// absent or not a sequence this API sent, and the stream starts with the job's state.
    /// </summary>
    internal static long? LastEventId(HttpContext http)
    {
        var value = http.Request.Headers["Last-Event-ID"].ToString();
        if (value.Length == 0)
        {
            value = http.Request.Query["lastEventId"].ToString();
        }

        return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var sequence) && sequence > 0 ? sequence : null;
    }

#if !NET10_0_OR_GREATER
    /// <summary>What <c>TypedResults.ServerSentEvents</c> does on .NET 10, for .NET 8: the headers, no buffering, and the formatter.</summary>
    private sealed class ServerSentEventsResult(IAsyncEnumerable<SseItem<string>> events) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache,no-store";
            response.Headers.Pragma = "no-cache";
            response.Headers.ContentEncoding = "identity";
            httpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
            await SseFormatter.WriteAsync(events, response.Body, httpContext.RequestAborted).ConfigureAwait(false);
        }
    }
#endif
}
