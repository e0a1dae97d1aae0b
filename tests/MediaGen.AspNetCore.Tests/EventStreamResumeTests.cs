using Microsoft.Extensions.DependencyInjection.Extensions;

namespace MediaGen.AspNetCore.Tests;

/// <summary>
/// Server-sent events carry each event's per-job sequence as the id, and a client that reconnects with
/// <c>Last-Event-ID</c> gets exactly what it missed from the event history. No worker runs: the tests publish the
/// events a worker would, through the host's own event stream.
/// </summary>
public sealed class EventStreamResumeTests
{
    [Fact]
    public async Task Events_CarryTheirSequenceAsTheId()
    {
        await using var host = await TestApiHost.StartAsync(worker: false);
        using var client = host.CreateClient("ids-owner");
        var id = await client.SubmitIdAsync(new { prompt = "a fox", model = "procedural" });
        await using var stream = await SseReader.OpenAsync(client, id);
        Assert.Equal(("job", null), Head(await stream.NextAsync()));
        Assert.Equal(("position", null), Head(await stream.NextAsync()));

        await PublishProgressAsync(host, id, 0.5);

        // The submission's Queued event was 1.
        Assert.Equal(("progress", "2"), Head(await stream.NextAsync()));
    }

    [Fact]
    public async Task Resume_WithLastEventId_ReplaysExactlyTheMissedEventsThenTheLiveOnes()
    {
        await using var host = await TestApiHost.StartAsync(worker: false);
        using var client = host.CreateClient("resume-owner");
        var id = await client.SubmitIdAsync(new { prompt = "a fox", model = "procedural" });
        for (var i = 1; i <= 4; i++)
        {
            await PublishProgressAsync(host, id, i / 5.0);
        }

        await using var stream = await SseReader.OpenAsync(client, id, lastEventId: "3");

        var replayed = new[] { await stream.NextAsync(), await stream.NextAsync() };
        Assert.Equal([("progress", "4"), ("progress", "5")], replayed.Select(Head));
        Assert.Contains("\"progress\":0.6", replayed[0].Data, StringComparison.Ordinal);
        Assert.Equal("3000", replayed[0].Retry);
        Assert.Null(replayed[1].Retry);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/api/v1/generations/{id}/cancel", null)).StatusCode);
        Assert.Equal(("canceled", "6"), Head(await stream.NextAsync()));
        var final = await stream.NextAsync();
        Assert.Equal(("job", null), Head(final));
        Assert.Contains("\"status\":\"canceled\"", final.Data, StringComparison.Ordinal);
        Assert.Null(await stream.NextOrEndAsync());
    }

    [Fact]
    public async Task Resume_AfterTheTerminalEventWasMissed_ReplaysItAndTheFinalStateThenEnds()
    {
        await using var host = await TestApiHost.StartAsync(worker: false);
        using var client = host.CreateClient("missed-end-owner");
        var id = await client.SubmitIdAsync(new { prompt = "a fox", model = "procedural" });
        await PublishProgressAsync(host, id, 0.5);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/api/v1/generations/{id}/cancel", null)).StatusCode);

        await using var stream = await SseReader.OpenAsync(client, id, lastEventId: "2");

        Assert.Equal(("canceled", "3"), Head(await stream.NextAsync()));
        Assert.Equal(("job", null), Head(await stream.NextAsync()));
        Assert.Null(await stream.NextOrEndAsync());
    }

    [Fact]
    public async Task Resume_HistoryNoLongerReachesBack_SendsTheStateFirstThenOnlyLaterEvents()
    {
        await using var host = await TestApiHost.StartAsync(worker: false, mediaGen: o => o.EventHistoryLength = 2);
        using var client = host.CreateClient("gap-owner");
        var id = await client.SubmitIdAsync(new { prompt = "a fox", model = "procedural" });
        for (var i = 1; i <= 4; i++)
        {
            await PublishProgressAsync(host, id, i / 5.0);
        }

        // Events 2 to 3 are gone (only 4 and 5 are kept).
        await using var stream = await SseReader.OpenAsync(client, id, lastEventId: "1");

        var state = await stream.NextAsync();
        Assert.Equal(("job", null), Head(state));
        Assert.Equal("3000", state.Retry);
        Assert.Equal(("position", null), Head(await stream.NextAsync()));
        await PublishProgressAsync(host, id, 0.9);
        Assert.Equal(("progress", "6"), Head(await stream.NextAsync()));
    }

    [Fact]
    public async Task Resume_FinishedJobWithNothingMissed_SendsTheStateAndEnds()
    {
        await using var host = await TestApiHost.StartAsync(worker: false);
        using var client = host.CreateClient("done-owner");
        var id = await client.SubmitIdAsync(new { prompt = "a fox", model = "procedural" });
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/api/v1/generations/{id}/cancel", null)).StatusCode);

        await using var stream = await SseReader.OpenAsync(client, id, lastEventId: "2");

        var state = await stream.NextAsync();
        Assert.Equal(("job", null), Head(state));
        Assert.Contains("\"status\":\"canceled\"", state.Data, StringComparison.Ordinal);
        Assert.Null(await stream.NextOrEndAsync());
    }

    // An id the job's history does not hold (beyond its last event: stale, or another job's) is no resume point. Taken as
    // one, every later event numbered up to it was dropped as sent, the terminal one too, and the stream never ended.
    [Theory]
    [InlineData("2")]
    [InlineData("1000")]
    public async Task Resume_LastEventIdBeyondTheJobsEvents_StartsWithTheStateThenStreamsEveryEventToTheEnd(string lastEventId)
    {
        await using var host = await TestApiHost.StartAsync(worker: false);
        using var client = host.CreateClient("beyond-owner");
        var id = await client.SubmitIdAsync(new { prompt = "a fox", model = "procedural" });

        await using var stream = await SseReader.OpenAsync(client, id, lastEventId);

        var state = await stream.NextAsync();
        Assert.Equal(("job", null), Head(state));
        Assert.Equal("3000", state.Retry);
        Assert.Equal(("position", null), Head(await stream.NextAsync()));
        await PublishProgressAsync(host, id, 0.5);
        Assert.Equal(("progress", "2"), Head(await stream.NextAsync()));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/api/v1/generations/{id}/cancel", null)).StatusCode);
        Assert.Equal(("canceled", "3"), Head(await stream.NextAsync()));
        var final = await stream.NextAsync();
        Assert.Equal(("job", null), Head(final));
        Assert.Contains("\"status\":\"canceled\"", final.Data, StringComparison.Ordinal);
        Assert.Null(await stream.NextOrEndAsync());
    }

    [Theory]
    [InlineData("banana")]
    [InlineData("-4")]
    [InlineData("0")]
    public async Task Resume_LastEventIdThatIsNoSequence_StartsWithTheState(string lastEventId)
    {
        await using var host = await TestApiHost.StartAsync(worker: false);
        using var client = host.CreateClient("odd-id-owner");
        var id = await client.SubmitIdAsync(new { prompt = "a fox", model = "procedural" });

        await using var stream = await SseReader.OpenAsync(client, id, lastEventId);

        Assert.Equal(("job", null), Head(await stream.NextAsync()));
    }

    [Fact]
    public async Task LiveEventLost_StreamSendsItFromTheHistoryAfterAKeepAliveInterval_ThenEnds()
    {
        await using var lossy = await LossyHost.StartAsync("lost-live-owner");
        await using var stream = await SseReader.OpenAsync(lossy.Client, lossy.Id);
        Assert.Equal(("job", null), Head(await stream.NextAsync()));
        Assert.Equal(("position", null), Head(await stream.NextAsync()));
        await PublishProgressAsync(lossy.Host, lossy.Id, 0.5);
        Assert.Equal(("progress", "2"), Head(await stream.NextAsync()));

        await lossy.CancelWhileIdleAsync();

        Assert.Equal(("canceled", "3"), Head(await stream.NextAsync()));
        var final = await stream.NextAsync();
        Assert.Equal(("job", null), Head(final));
        Assert.Contains("\"status\":\"canceled\"", final.Data, StringComparison.Ordinal);
        Assert.Null(await stream.NextOrEndAsync());
    }

    [Fact]
    public async Task LiveEventLostBeforeAnyWasSent_StreamSendsTheJobsStateAfterAKeepAliveInterval_ThenEnds()
    {
        // Nothing numbered was sent yet, so the stream cannot tell which kept events its first state covered: it sends the
        // state again, because the job changed since.
        await using var lossy = await LossyHost.StartAsync("lost-first-owner");
        await using var stream = await SseReader.OpenAsync(lossy.Client, lossy.Id);
        Assert.Equal(("job", null), Head(await stream.NextAsync()));
        Assert.Equal(("position", null), Head(await stream.NextAsync()));

        await lossy.CancelWhileIdleAsync();

        var state = await stream.NextAsync();
        Assert.Equal(("job", null), Head(state));
        Assert.Contains("\"status\":\"canceled\"", state.Data, StringComparison.Ordinal);
        Assert.Null(await stream.NextOrEndAsync());
    }

    [Fact]
    public async Task LiveEventLost_NextLiveEventsNumberSkipsIt_StreamSendsItFromTheHistoryFirst()
    {
        await using var host = await TestApiHost.StartAsync(worker: false, services: s => LoseLiveEvents(s, JobEventType.CancelRequested));
        using var client = host.CreateClient("gap-live-owner");
        var id = await client.SubmitIdAsync(new { prompt = "a fox", model = "procedural" });
        await using var stream = await SseReader.OpenAsync(client, id);
        Assert.Equal(("job", null), Head(await stream.NextAsync()));
        Assert.Equal(("position", null), Head(await stream.NextAsync()));
        await PublishProgressAsync(host, id, 0.2);
        Assert.Equal(("progress", "2"), Head(await stream.NextAsync()));

        // Event 3 is lost live; event 4 shows the gap.
        await PublishAsync(host, id, JobEventType.CancelRequested);
        await PublishProgressAsync(host, id, 0.4);

        Assert.Equal(("cancelRequested", "3"), Head(await stream.NextAsync()));
        Assert.Equal(("progress", "4"), Head(await stream.NextAsync()));
        await PublishProgressAsync(host, id, 0.6);
        Assert.Equal(("progress", "5"), Head(await stream.NextAsync()));
    }

    /// <summary>
    /// A host on a fake clock whose live subscriptions never hear a Canceled event, as when the pub/sub connection was down
    /// while it was published; its history keeps it. One job is submitted.
    /// </summary>
    private sealed class LossyHost(TestApiHost host, HttpClient client, ObservedTimeProvider time, string id) : IAsyncDisposable
    {
        private static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);

        public TestApiHost Host => host;

        public HttpClient Client => client;

        public string Id => id;

        public static async Task<LossyHost> StartAsync(string owner)
        {
            var time = new ObservedTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
            var host = await TestApiHost.StartAsync(
                worker: false,
                services: s => LoseLiveEvents(s.AddSingleton<TimeProvider>(time), JobEventType.Canceled),
                api: o => (o.SseKeepAliveInterval, o.SseQueuePositionInterval) = (Interval, Interval));
            var client = host.CreateClient(owner);
            return new LossyHost(host, client, time, await client.SubmitIdAsync(new { prompt = "a fox", model = "procedural" }));
        }

        /// <summary>Cancels the job once the stream waits out its idle interval, then moves time past it.</summary>
        public async Task CancelWhileIdleAsync()
        {
            await time.WaitForTimersAsync(1, Interval);
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/api/v1/generations/{id}/cancel", null)).StatusCode);
            time.Advance(Interval);
        }

        public async ValueTask DisposeAsync()
        {
            client.Dispose();
            await host.DisposeAsync();
        }
    }

    /// <summary>Replaces the host's event stream with one whose live subscriptions never deliver <paramref name="lost"/>.</summary>
    private static void LoseLiveEvents(IServiceCollection services, JobEventType lost)
    {
        var original = services.Last(d => d.ServiceType == typeof(IJobEventStream));
        var create = original.ImplementationFactory!;
        services.Replace(ServiceDescriptor.Singleton<IJobEventStream>(sp => new LosingLiveEvents((IJobEventStream)create(sp), lost)));
    }

    private sealed class LosingLiveEvents(IJobEventStream inner, JobEventType lost) : IJobEventStream
    {
        public ValueTask PublishAsync(JobEvent jobEvent, CancellationToken cancellationToken = default) => inner.PublishAsync(jobEvent, cancellationToken);

        public ValueTask<IReadOnlyList<JobEvent>> GetHistoryAsync(string jobId, long afterSequence, CancellationToken cancellationToken = default) =>
            inner.GetHistoryAsync(jobId, afterSequence, cancellationToken);

        public async ValueTask<IAsyncEnumerator<JobEvent>> OpenSubscriptionAsync(string jobId, CancellationToken cancellationToken = default) =>
            Skip(await inner.OpenSubscriptionAsync(jobId, cancellationToken), lost);

        private static async IAsyncEnumerator<JobEvent> Skip(IAsyncEnumerator<JobEvent> events, JobEventType lost)
        {
            await using (events)
            {
                while (await events.MoveNextAsync())
                {
                    if (events.Current.Type != lost)
                    {
                        yield return events.Current;
                    }
                }
            }
        }
    }

    private static (string? Event, string? Id) Head(SseFrame frame) => (frame.Event, frame.Id);

    private static Task PublishProgressAsync(TestApiHost host, string jobId, double progress) =>
        PublishAsync(host, jobId, JobEventType.Progress, progress);

    private static async Task PublishAsync(TestApiHost host, string jobId, JobEventType type, double? progress = null)
    {
        var events = host.Services.GetRequiredService<IJobEventStream>();
        await events.PublishAsync(new JobEvent
        {
            JobId = jobId,
            OwnerId = "any",
            Type = type,
            Timestamp = DateTimeOffset.UnixEpoch,
            Status = JobStatus.Processing,
            Attempt = 1,
            Progress = progress,
        });
    }

    private sealed record SseFrame(string? Event, string? Id, string? Retry, string Data);

    /// <summary>Reads an event stream frame by frame, skipping keep-alive comments.</summary>
    private sealed class SseReader : IAsyncDisposable
    {
        private readonly HttpResponseMessage _response;
        private readonly StreamReader _reader;
        private readonly CancellationTokenSource _timeout = new(Waits.Limit);

        private SseReader(HttpResponseMessage response, StreamReader reader)
        {
            _response = response;
            _reader = reader;
        }

        public static async Task<SseReader> OpenAsync(HttpClient client, string jobId, string? lastEventId = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/generations/{jobId}/events");
            if (lastEventId is not null)
            {
                request.Headers.Add("Last-Event-ID", lastEventId);
            }

            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return new SseReader(response, new StreamReader(await response.Content.ReadAsStreamAsync(), Encoding.UTF8));
        }

        public async Task<SseFrame> NextAsync() => await NextOrEndAsync() ?? throw new Xunit.Sdk.XunitException("The stream ended.");

        public async Task<SseFrame?> NextOrEndAsync()
        {
            string? name = null, id = null, retry = null;
            var data = new StringBuilder();
            var any = false;
            while (await _reader.ReadLineAsync(_timeout.Token) is { } line)
            {
                if (line.Length == 0)
                {
                    if (any)
                    {
                        return new SseFrame(name, id, retry, data.ToString());
                    }

                    continue;
                }

                if (line.StartsWith(':'))
                {
                    continue;
                }

                any = true;
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                var (field, value) = colon < 0 ? (line, "") : (line[..colon], line[(colon + 1)..].TrimStart(' '));
                switch (field)
                {
                    case "event": name = value; break;
                    case "id": id = value; break;
                    case "retry": retry = value; break;
                    case "data": data.Append(value); break;
                }
            }

            return null;
        }

        public ValueTask DisposeAsync()
        {
            _reader.Dispose();
            _response.Dispose();
            _timeout.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
