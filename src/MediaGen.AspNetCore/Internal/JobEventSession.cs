using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen.AspNetCore.Internal;

/// <summary>
/// One client's event stream for one job. It subscribes first, then sends the job's current state (<c>event: job</c>,
/// with the <c>retry:</c> interval), so nothing that happens in between is missed; then each event as it comes
/// (<c>event: progress</c>, <c>outputStored</c>, ...), with its per-job sequence as the <c>id:</c>, and a comment line as a
/// keep-alive while idle. After a terminal event it sends the final job state and ends. A job already finished gets its
/// state and the stream ends.
/// </summary>
/// <remarks>
/// <para>
/// A client that reconnects with <c>Last-Event-ID</c> (a browser's <c>EventSource</c> does so by itself) gets the events it
/// missed from the backend's per-job history (<see cref="IJobEventStream.GetHistoryAsync"/>) instead of the state, then
/// the live ones; an event that arrives both ways is sent once. When the history does not hold the id's event (it no
/// longer reaches back that far, or the id is not one of this job's events, such as one beyond its last), or there is
/// nothing after the id and the job has finished, the job's state is sent first, as on a first connect.
/// </para>
/// <para>
/// Live delivery is best effort (a subscriber's pub/sub connection can drop and come back), so the stream fills in from
/// the history: at once when a live event's number skips some, and when it has heard nothing for a keep-alive interval,
/// before it sends the keep-alive. What it missed is sent then, and a job that finished meanwhile ends the stream as it
/// would have.
/// </para>
/// <para>
/// Keep-alive comments are not items the formatter can write, so they are written to the response here, between
/// items: the formatter writes each item whole before it asks for the next, and waits while this enumerator runs.
/// </para>
/// </remarks>
internal sealed class JobEventSession(
    HttpContext http,
    string ownerId,
    string jobId,
    IMediaGenerationClient client,
    IJobEventStream events,
    IJobQueue queue,
    ResponseMapper mapper,
    TimeProvider timeProvider,
    IOptions<MediaGenerationApiOptions> options,
    ILogger<JobEventSession> logger)
{
    private static readonly byte[] KeepAlive = ": keep-alive\n\n"u8.ToArray();

    // While the job is pending: the message to ask the queue about (its run's), and the position last sent.
    private JobStatus _status;
    private string? _runId;
    private long? _position;

    // The sequence of the last event sent (or covered by a state sent), whether the stream has sent its end, and when an
    // event was last heard live or the history last read.
    private long _sent;
    private bool _ended;
    private long _heard;

    // The version of the job state sent first, on a first connect (its events' numbers are not known until the history is read).
    private long _stateVersion = -1;

    /// <summary>The events of the stream.</summary>
    /// <param name="lastEventId">The <c>Last-Event-ID</c> the client sent, when it resumes; null on a first connect.</param>
    /// <param name="aborted">The request's abort token.</param>
    public async IAsyncEnumerable<SseItem<string>> ReadAsync(long? lastEventId, [EnumeratorCancellation] CancellationToken aborted)
    {
        using var subscription = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        // Live before the history and the job are read, so no event falls between them.
        var enumerator = await OpenSubscriptionAsync(subscription.Token).ConfigureAwait(false);
        Task<bool>? next = null;
        try
        {
            next = enumerator.MoveNextAsync().AsTask();
            // From the client's last event on, so the history shows whether that event is one of this job's.
            var kept = lastEventId is { } last ? await TryGetHistoryAsync(last - 1, aborted).ConfigureAwait(false) : null;
            if (await TryGetJobAsync(aborted).ConfigureAwait(false) is not { } job)
            {
                yield break;
            }

            (_status, _runId) = (job.Status, job.RunId);
            _heard = timeProvider.GetTimestamp();

            // Resumable only from an event the history holds: an id it does not (one from another job, a stale one, or one
            // beyond this job's last event) says nothing about what the client has, and taking it as a resume point would
            // drop every later event numbered up to it, the terminal one too. Then, when there is something after it: missed
            // events, or live ones while the job still runs.
            var missed = kept is [var known, ..] && known.Sequence == lastEventId ? kept.Skip(1).ToList() : null;
            var resumed = missed is not null && (missed.Count > 0 || !job.Status.IsTerminal());
            if (resumed)
            {
                _sent = lastEventId!.Value;
            }
            else
            {
                // As on a first connect, the state covers whatever the history held (it was read first): only later
                // events follow it.
                _sent = kept is [.., var latest] ? latest.Sequence : 0;
                missed = null;
                _stateVersion = job.Version;
                yield return new SseItem<string>(await SerializeAsync(job, aborted).ConfigureAwait(false), "job")
                {
                    ReconnectionInterval = options.Value.SseReconnectionInterval,
                };
                if (job.Status.IsTerminal())
                {
                    yield break;
                }
            }

            await foreach (var item in SendMissedAsync(missed ?? [], firstCarriesRetry: true, aborted).ConfigureAwait(false))
            {
                yield return item;
            }

            if (_ended)
            {
                yield break;
            }

            if (await TryGetPositionItemAsync(aborted).ConfigureAwait(false) is { } first)
            {
                yield return first;
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

                if (step == Step.Idle)
                {
                    // Live delivery is best effort: a subscriber loses what is published while its pub/sub connection is
                    // down (a Redis or PostgreSQL restart). After a keep-alive interval with nothing heard, the history
                    // says whether anything was missed, and the stream goes on from it (or ends, if the job did).
                    if (timeProvider.GetElapsedTime(_heard) >= options.Value.SseKeepAliveInterval)
                    {
                        _heard = timeProvider.GetTimestamp();
                        var caughtUp = false;
                        await foreach (var item in CatchUpAsync(aborted).ConfigureAwait(false))
                        {
                            caughtUp = true;
                            yield return item;
                        }

                        if (_ended)
                        {
                            yield break;
                        }

                        if (caughtUp)
                        {
                            continue;
                        }
                    }

                    if (await TryGetPositionItemAsync(aborted).ConfigureAwait(false) is { } moved)
                    {
                        yield return moved;
                    }
                    else if (aborted.IsCancellationRequested || !await TrySendAsync(KeepAlive, aborted).ConfigureAwait(false))
                    {
                        yield break;
                    }

                    continue;
                }

                var jobEvent = enumerator.Current;
                _heard = timeProvider.GetTimestamp();
                if (_sent > 0 && jobEvent.Sequence > _sent + 1)
                {
                    // A gap: a job's events are published in the order they are numbered, so the ones between were lost
                    // live. The history has them, and this one too (an event is kept before it is published).
                    await foreach (var item in CatchUpAsync(aborted).ConfigureAwait(false))
                    {
                        yield return item;
                    }

                    if (_ended)
                    {
                        yield break;
                    }
                }

                if (jobEvent.Sequence != 0 && jobEvent.Sequence <= _sent)
                {
                    // Already sent from the history.
                    next = enumerator.MoveNextAsync().AsTask();
                    continue;
                }

                yield return await ToItemAsync(jobEvent, false, aborted).ConfigureAwait(false);
                _sent = Math.Max(_sent, jobEvent.Sequence);
                _status = jobEvent.Status;
                await FollowRerunAsync(jobEvent, aborted).ConfigureAwait(false);
                if (await TryGetPositionItemAsync(aborted).ConfigureAwait(false) is { } position)
                {
                    yield return position;
                }

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

    /// <summary>
    /// Sends <paramref name="missed"/> (events after the last one sent, oldest first) and, after a terminal one, the final
    /// state, setting <see cref="_ended"/>. With <paramref name="firstCarriesRetry"/> the first one carries the
    /// <c>retry:</c> interval (it opens a resumed stream).
    /// </summary>
    private async IAsyncEnumerable<SseItem<string>> SendMissedAsync(IReadOnlyList<JobEvent> missed, bool firstCarriesRetry, [EnumeratorCancellation] CancellationToken aborted)
    {
        foreach (var jobEvent in missed)
        {
            yield return await ToItemAsync(jobEvent, firstCarriesRetry, aborted).ConfigureAwait(false);
            firstCarriesRetry = false;
            _sent = jobEvent.Sequence;
            _status = jobEvent.Status;
            await FollowRerunAsync(jobEvent, aborted).ConfigureAwait(false);
            if (jobEvent.IsTerminal)
            {
                if (await TryGetJobAsync(aborted).ConfigureAwait(false) is { } final)
                {
                    yield return new SseItem<string>(await SerializeAsync(final, aborted).ConfigureAwait(false), "job");
                }

                _ended = true;
                yield break;
            }
        }
    }

    /// <summary>After a Retried event: the new run waits under its own message, whose queue position the stream follows.</summary>
    private async Task FollowRerunAsync(JobEvent jobEvent, CancellationToken aborted)
    {
        if (jobEvent.Type == JobEventType.Retried && await TryGetJobAsync(aborted).ConfigureAwait(false) is { } rerun)
        {
            (_runId, _position) = (rerun.RunId, null);
        }
    }

    /// <summary>
    /// What the live subscription may have missed, from the history: the events after the last one sent, or, when the
    /// history no longer reaches back that far, the job's state (and the end, if it has finished). Nothing when nothing
    /// was missed or the history cannot be read.
    /// </summary>
    private async IAsyncEnumerable<SseItem<string>> CatchUpAsync([EnumeratorCancellation] CancellationToken aborted)
    {
        if (await TryGetHistoryAsync(_sent, aborted).ConfigureAwait(false) is not [var first, ..] missed)
        {
            yield break;
        }

        if (_sent > 0 && first.Sequence == _sent + 1)
        {
            await foreach (var item in SendMissedAsync(missed, firstCarriesRetry: false, aborted).ConfigureAwait(false))
            {
                yield return item;
            }

            yield break;
        }

        // Some of what was missed is no longer kept, or nothing numbered was sent yet, so which of these events the first
        // state covered is not known: the state, read after the history, covers them all. On a first connect it is sent
        // again only if the job changed since.
        var baseline = _sent == 0;
        if (await TryGetJobAsync(aborted).ConfigureAwait(false) is not { } current)
        {
            _ended = true;
            yield break;
        }

        _sent = missed[^1].Sequence;
        if (baseline && current.Version == _stateVersion)
        {
            yield break;
        }

        (_status, _runId, _position, _stateVersion) = (current.Status, current.RunId, null, current.Version);
        yield return new SseItem<string>(await SerializeAsync(current, aborted).ConfigureAwait(false), "job");
        _ended = current.Status.IsTerminal();
    }

    /// <summary>The live subscription; one that could not be opened fails its first read, as a lost one does.</summary>
    private async ValueTask<IAsyncEnumerator<JobEvent>> OpenSubscriptionAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await events.OpenSubscriptionAsync(jobId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Failed(e);
        }

        static async IAsyncEnumerator<JobEvent> Failed(Exception e)
        {
            await Task.Yield();
            ExceptionDispatchInfo.Throw(e);
            yield break;
        }
    }

    private enum Step
    {
        Event,
        Idle,
        End,
    }

    /// <summary>
    /// Waits for the next event, or for the idle interval: the queue-position interval while the job is pending, else the
    /// keep-alive interval.
    /// </summary>
    private async Task<Step> WaitAsync(Task<bool> next, CancellationToken aborted)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        var interval = _status == JobStatus.Pending && options.Value.SseQueuePositionInterval < options.Value.SseKeepAliveInterval
            ? options.Value.SseQueuePositionInterval
            : options.Value.SseKeepAliveInterval;
        var timer = Task.Delay(interval, timeProvider, idle.Token);
        try
        {
            if (await Task.WhenAny(next, timer).ConfigureAwait(false) != next)
            {
                return aborted.IsCancellationRequested ? Step.End : Step.Idle;
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

    /// <summary>
    /// <c>event: position</c> with the job's place in the queue, when it is pending and the place changed since the last
    /// one sent; null otherwise, and when the queue cannot tell (<see cref="IJobQueue.GetPositionAsync"/>).
    /// </summary>
    private async Task<SseItem<string>?> TryGetPositionItemAsync(CancellationToken aborted)
    {
        if (_status != JobStatus.Pending || _runId is null)
        {
            return null;
        }

        long? position;
        try
        {
            position = await queue.GetPositionAsync(_runId, aborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.EventStreamFailed(logger, jobId, e);
            return null;
        }

        if (position is not { } ahead || position == _position)
        {
            return null;
        }

        _position = position;
        return new SseItem<string>(JsonSerializer.Serialize(new QueuePositionResponse(jobId, ahead), ApiJson.TypeInfo<QueuePositionResponse>()), "position");
    }

    /// <summary>An event as an item: its type as the event name, its sequence as the id.</summary>
    private async Task<SseItem<string>> ToItemAsync(JobEvent jobEvent, bool first, CancellationToken aborted)
    {
        var data = JsonSerializer.Serialize(await mapper.ToResponseAsync(jobEvent, aborted).ConfigureAwait(false), ApiJson.TypeInfo<JobEventResponse>());
        return new SseItem<string>(data, JsonNamingPolicy.CamelCase.ConvertName(jobEvent.Type.ToString()))
        {
            EventId = jobEvent.Sequence > 0 ? jobEvent.Sequence.ToString(CultureInfo.InvariantCulture) : null,
            ReconnectionInterval = first ? options.Value.SseReconnectionInterval : null,
        };
    }

    /// <summary>The events kept after <paramref name="after"/>; null when the history cannot be read (the state is sent instead).</summary>
    private async Task<IReadOnlyList<JobEvent>?> TryGetHistoryAsync(long after, CancellationToken aborted)
    {
        try
        {
            return await events.GetHistoryAsync(jobId, after, aborted).ConfigureAwait(false);
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
