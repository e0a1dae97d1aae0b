using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen.AspNetCore.Internal;

/// <summary>
/// One client's event stream for one job. It subscribes first, then sends the job's current state (<c>event: job</c>,
/// with the <c>retry:</c> interval), so nothing that happens in between is missed; then each event as it comes
/// (<c>event: progress</c>, <c>outputStored</c>, ...), with a comment line as a keep-alive while idle. After a terminal
/// event it sends the final job state and ends. A job already finished gets its state and the stream ends.
/// </summary>
/// <remarks>
/// Keep-alive comments are not items the formatter can write, so they are written to the response here, between
/// items: the formatter writes each item whole before it asks for the next, and waits while this enumerator runs.
/// </remarks>
internal sealed class JobEventSession(
    HttpContext http,
    string ownerId,
    string jobId,
    IMediaGenerationClient client,
    IJobEventStream events,
    ResponseMapper mapper,
    TimeProvider timeProvider,
    IOptions<MediaGenerationApiOptions> options,
    ILogger<JobEventSession> logger)
{
    private static readonly byte[] KeepAlive = ": keep-alive\n\n"u8.ToArray();

    public async IAsyncEnumerable<SseItem<string>> ReadAsync([EnumeratorCancellation] CancellationToken aborted)
    {
        using var subscription = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        var enumerator = events.SubscribeAsync(jobId, subscription.Token).GetAsyncEnumerator(subscription.Token);
        Task<bool>? next = null;
        try
        {
            next = enumerator.MoveNextAsync().AsTask();
            if (await TryGetJobAsync(aborted).ConfigureAwait(false) is not { } job)
            {
                yield break;
            }

            yield return new SseItem<string>(await SerializeAsync(job, aborted).ConfigureAwait(false), "job")
            {
                ReconnectionInterval = options.Value.SseReconnectionInterval,
            };
            if (job.Status.IsTerminal())
            {
                yield break;
            }

            while (true)
            {
                if (!await TrySendAsync(default, aborted).ConfigureAwait(false))
                {
                    yield break;
                }

                var step = await WaitAsync(next, aborted).ConfigureAwait(false);
                if (step == Step.End)
                {
                    yield break;
                }

                if (step == Step.KeepAlive)
                {
                    continue;
                }

                var jobEvent = enumerator.Current;
                var data = JsonSerializer.Serialize(await mapper.ToResponseAsync(jobEvent, aborted).ConfigureAwait(false), ApiJson.TypeInfo<JobEventResponse>());
                yield return new SseItem<string>(data, JsonNamingPolicy.CamelCase.ConvertName(jobEvent.Type.ToString()));
                if (jobEvent.IsTerminal)
                {
                    if (await TryGetJobAsync(aborted).ConfigureAwait(false) is { } final)
                    {
                        yield return new SseItem<string>(await SerializeAsync(final, aborted).ConfigureAwait(false), "job");
                    }

                    yield break;
                }

                next = enumerator.MoveNextAsync().AsTask();
            }
        }
        finally
        {
            // An async enumerator must not be disposed while a MoveNextAsync is pending: end the subscription first.
            await subscription.CancelAsync().ConfigureAwait(false);
            if (next is not null)
            {
                try
                {
                    await next.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
                catch (Exception e)
                {
                    Log.EventStreamFailed(logger, jobId, e);
                }
            }

            await enumerator.DisposeAsync().ConfigureAwait(false);
        }
    }

    private enum Step
    {
        Event,
        KeepAlive,
        End,
    }

    private async Task<Step> WaitAsync(Task<bool> next, CancellationToken aborted)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        var keepAlive = Task.Delay(options.Value.SseKeepAliveInterval, timeProvider, idle.Token);
        try
        {
            if (await Task.WhenAny(next, keepAlive).ConfigureAwait(false) != next)
            {
                return !aborted.IsCancellationRequested && await TrySendAsync(KeepAlive, aborted).ConfigureAwait(false) ? Step.KeepAlive : Step.End;
            }

            await idle.CancelAsync().ConfigureAwait(false);
            return await next.ConfigureAwait(false) ? Step.Event : Step.End;
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            return Step.End;
        }
        catch (Exception e)
        {
            // The backend's stream broke (a lost connection): end this stream; the client reconnects and reads the job.
            Log.EventStreamFailed(logger, jobId, e);
            return Step.End;
        }
    }

    /// <summary>Writes (a keep-alive) and flushes what the formatter wrote; false once the client has gone.</summary>
    private async Task<bool> TrySendAsync(ReadOnlyMemory<byte> bytes, CancellationToken aborted)
    {
        try
        {
            if (!bytes.IsEmpty)
            {
                await http.Response.Body.WriteAsync(bytes, aborted).ConfigureAwait(false);
            }

            await http.Response.Body.FlushAsync(aborted).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task<GenerationJob?> TryGetJobAsync(CancellationToken aborted)
    {
        try
        {
            return await client.GetAsync(ownerId, jobId, aborted).ConfigureAwait(false);
        }
        catch (JobNotFoundException)
        {
            // Deleted since the stream opened.
            return null;
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.EventStreamFailed(logger, jobId, e);
            return null;
        }
    }

    private async Task<string> SerializeAsync(GenerationJob job, CancellationToken cancellationToken) =>
        JsonSerializer.Serialize(await mapper.ToResponseAsync(job, cancellationToken).ConfigureAwait(false), ApiJson.TypeInfo<JobResponse>());
}
