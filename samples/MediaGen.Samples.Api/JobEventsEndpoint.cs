using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace MediaGen.Samples.Api;

/// <summary>
/// <c>GET /api/v1/generations/{id}/events</c> as server-sent events. It subscribes first, then sends the job's current
/// state (<c>event: job</c>), so nothing that happens in between is missed; then each event as it comes
/// (<c>event: progress</c>, <c>outputStored</c>, ...), with a comment line as a heartbeat while idle. After a terminal
/// event it sends the final job state and closes. A job already finished gets its state and the stream closes.
/// </summary>
internal static class JobEventsEndpoint
{
    public static async Task StreamAsync(
        string id,
        HttpContext http,
        IMediaGenerationClient client,
        IJobEventStream events,
        ResponseMapper mapper,
        TimeProvider timeProvider,
        IOptions<SampleApiOptions> apiOptions,
        IOptions<JsonOptions> jsonOptions)
    {
        var owner = OwnerResolver.GetOwner(http);
        var aborted = http.RequestAborted;
        // Unknown job or another owner's: a 404 ProblemDetails, before the stream starts.
        await client.GetAsync(owner, id, aborted);

        var writer = new SseWriter(http.Response, jsonOptions.Value.SerializerOptions);
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";

        using var subscription = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        var enumerator = events.SubscribeAsync(id, subscription.Token).GetAsyncEnumerator(subscription.Token);
        Task<bool>? next = null;
        try
        {
            next = enumerator.MoveNextAsync().AsTask();
            var job = await client.GetAsync(owner, id, aborted);
            await writer.WriteEventAsync("job", await mapper.ToResponseAsync(job, aborted), aborted);
            if (job.Status.IsTerminal())
            {
                return;
            }

            while (true)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(aborted);
                var heartbeat = Task.Delay(apiOptions.Value.SseHeartbeatInterval, timeProvider, idle.Token);
                if (await Task.WhenAny(next, heartbeat) != next)
                {
                    if (aborted.IsCancellationRequested)
                    {
                        return;
                    }

                    await writer.WriteCommentAsync("heartbeat", aborted);
                    continue;
                }

                await idle.CancelAsync();
                if (!await next)
                {
                    return;
                }

                var jobEvent = enumerator.Current;
                await writer.WriteEventAsync(JsonNamingPolicy.CamelCase.ConvertName(jobEvent.Type.ToString()), await mapper.ToResponseAsync(jobEvent, aborted), aborted);
                if (jobEvent.IsTerminal)
                {
                    var final = await client.GetAsync(owner, id, aborted);
                    await writer.WriteEventAsync("job", await mapper.ToResponseAsync(final, aborted), aborted);
                    return;
                }

                next = enumerator.MoveNextAsync().AsTask();
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away.
        }
        finally
        {
            // An async enumerator must not be disposed while a MoveNextAsync is pending: end the subscription first.
            await subscription.CancelAsync();
            if (next is not null)
            {
                try
                {
                    await next;
                }
                catch (OperationCanceledException)
                {
                }
            }

            await enumerator.DisposeAsync();
        }
    }

    private sealed class SseWriter(HttpResponse response, JsonSerializerOptions serializerOptions)
    {
        public async Task WriteEventAsync<T>(string eventName, T data, CancellationToken cancellationToken)
        {
            var json = JsonSerializer.Serialize(data, serializerOptions);
            await WriteAsync($"event: {eventName}\ndata: {json}\n\n", cancellationToken);
        }

        public Task WriteCommentAsync(string text, CancellationToken cancellationToken) => WriteAsync($": {text}\n\n", cancellationToken);

        private async Task WriteAsync(string text, CancellationToken cancellationToken)
        {
            await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
        }
    }
}
