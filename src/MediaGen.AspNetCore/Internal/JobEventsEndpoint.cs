using System.Globalization;
using System.Net.ServerSentEvents;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen.AspNetCore.Internal;

/// <summary>
/// <c>GET {prefix}/generations/{id}/events</c> as server-sent events, written by System.Net.ServerSentEvents'
/// <see cref="SseFormatter"/> (<see cref="EventStreamResult"/>). An unknown job is a 404 problem before the stream
/// starts, and so is an error before its first event; then see <see cref="JobEventSession"/> for what the stream carries.
/// </summary>
internal static class JobEventsEndpoint
{
    public static async Task<IResult> StreamAsync(string id, HttpContext http, IMediaGenerationClient client, CancellationToken cancellationToken)
    {
        var owner = ApiEndpointFilter.GetOwner(http);
        // Unknown job or another owner's: a 404 problem, before the stream starts.
        await client.GetAsync(owner, GenerationEndpoints.CheckJobId(id), cancellationToken).ConfigureAwait(false);

        var session = ActivatorUtilities.CreateInstance<JobEventSession>(http.RequestServices, http, owner, id);
        return new EventStreamResult(session.ReadAsync(LastEventId(http), http.RequestAborted));
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

    /// <summary>
    /// The stream as a result: the headers <c>TypedResults.ServerSentEvents</c> (.NET 10) sends, then the events through
    /// <see cref="SseFormatter"/>. The first event is made before anything is written, so an error while making it (the
    /// job's state is read and mapped as the result runs, after the endpoint filter) is answered as a problem like any
    /// other error of the API, not a bare 500. Once the stream has started, an error can only end it.
    /// </summary>
    internal sealed class EventStreamResult(IAsyncEnumerable<SseItem<string>> events) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            // Set before the first event is made: the session flushes them itself (with a keep-alive) while it waits for one.
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache,no-store";
            response.Headers.Pragma = "no-cache";
            response.Headers.ContentEncoding = "identity";
            // Proxies such as nginx would otherwise hold the events back in their buffers.
            response.Headers["X-Accel-Buffering"] = "no";
            httpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

            var enumerator = events.GetAsyncEnumerator(httpContext.RequestAborted);
            try
            {
                bool any;
                try
                {
                    any = await enumerator.MoveNextAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (!response.HasStarted)
                {
                    response.Clear();
                    var services = httpContext.RequestServices;
                    var maxErrors = services.GetRequiredService<IOptions<MediaGenerationApiOptions>>().Value.MaxValidationErrors;
                    await ApiEndpointFilter.Answer(httpContext, e, maxErrors, services.GetRequiredService<ILogger<ApiEndpointFilter>>()).ExecuteAsync(httpContext).ConfigureAwait(false);
                    return;
                }

                await SseFormatter.WriteAsync(Resume(enumerator, any), response.Body, httpContext.RequestAborted).ConfigureAwait(false);
            }
            finally
            {
                await enumerator.DisposeAsync().ConfigureAwait(false);
            }
        }

        /// <summary>The first event, already read, then the rest.</summary>
        private static async IAsyncEnumerable<SseItem<string>> Resume(IAsyncEnumerator<SseItem<string>> enumerator, bool any)
        {
            if (!any)
            {
                yield break;
            }

            yield return enumerator.Current;
            while (await enumerator.MoveNextAsync().ConfigureAwait(false))
            {
                yield return enumerator.Current;
            }
        }
    }
}
