using System.Collections.Concurrent;
using System.Net;

namespace MediaGen.Queue.Redis.Tests;

/// <summary>
/// The sample API host and sample workers as separate processes on one Redis, with the Replicate generator pointed at a
/// fake Replicate server this test runs. An owner's cancel of a running prediction, taken by the API process, lands in
/// the worker process within a second (no lease renewal falls in that second: the lease is five minutes), with the
/// provider's cancel and an exact refund; a cancel of a job that finished first changes nothing; a 429 one worker
/// gets stops every create from every worker until its Retry-After; and a failed job retried over HTTP, or a dead letter
/// replayed by an operator's process, runs again in the worker to Succeeded, charged once per run.
/// </summary>
public sealed class MultiProcessCancelAndRateLimitTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Provider = "replicate";
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan StartLimit = TimeSpan.FromSeconds(60);
    private readonly DirectoryInfo _media = Directory.CreateTempSubdirectory("mediagen-multiprocess-cancel");
    private readonly string _prefix = RedisTestServer.NewPrefix();
    private FakeReplicateServer _replicate = null!;
    private SampleHosts? _hosts;

    public async Task InitializeAsync() => _replicate = await FakeReplicateServer.StartAsync();

    public async Task DisposeAsync()
    {
        _hosts?.Dispose();
        await _replicate.DisposeAsync();
        _media.Delete(recursive: true);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ApiAndWorker_CancelOfARunningPrediction_LandsWithinASecondWithTheProvidersCancelAndAnExactRefund()
    {
        _replicate.PollsUntilDone = int.MaxValue;
        using var http = await StartApiAsync();
        Start("MediaGen.Samples.Worker");
        var startBalance = await SampleHosts.BalanceAsync(http);
        var id = await SubmitAsync(http, "flux-dev", "a lighthouse that never finishes");
        await http.WaitForJobAsync(id, j => j.Status() == "processing", StartLimit);
        await _replicate.WaitForRequestAsync((method, path) => method == "GET" && path.StartsWith("/v1/predictions/", StringComparison.Ordinal), "the worker to poll its prediction");

        // Watch the job's events through the API, as a browser would, before asking for the cancel.
        using var events = new EventWatch(http, id);
        await events.WaitForAsync("job");
        var asked = Stopwatch.GetTimestamp();
        using var response = await http.PostAsync($"/api/v1/generations/{id}/cancel", null);
        var requested = await response.Content.ReadFromJsonAsync<JsonElement>();
        var landed = await events.WaitForAsync("canceled");
        var latency = Stopwatch.GetElapsedTime(asked, landed);
        output.WriteLine($"The cancel landed {latency.TotalMilliseconds:0} ms after it was asked for.");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("processing", requested.GetProperty("status").GetString());
        Assert.True(requested.GetProperty("cancelRequested").GetBoolean());
        Assert.True(latency <= TimeSpan.FromSeconds(1), $"The cancel landed {latency.TotalMilliseconds:0} ms after it was asked for; the bound is 1 s.");
        Assert.True(events.IndexOf("cancelRequested") is >= 0 and var at && at < events.IndexOf("canceled"), $"Events: {string.Join(", ", events.Names)}.");

        var job = await http.GetFromJsonAsync<JsonElement>($"/api/v1/generations/{id}");
        Assert.Equal("canceled", job.GetProperty("status").GetString());
        Assert.Equal(8, job.GetProperty("creditsCharged").GetInt64());
        Assert.Equal(8, job.GetProperty("creditsRefunded").GetInt64());
        Assert.Equal(startBalance, await SampleHosts.BalanceAsync(http));
        Assert.Equal(1, _replicate.PredictionsCreated);
        Assert.Equal(1, _replicate.CancelCalls);
        var prediction = await PredictionOfAsync(id);
        Assert.Equal("canceled", _replicate.Find(prediction)!.Status);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ApiAndWorker_CancelOfAJobThatFinishedFirst_ChangesNothingAndChargesNormally()
    {
        using var http = await StartApiAsync();
        Start("MediaGen.Samples.Worker");
        var startBalance = await SampleHosts.BalanceAsync(http);
        var id = await SubmitAsync(http, "flux-schnell", "a lighthouse that finishes at once");
        await http.WaitForJobAsync(id, j => j.Status() == "succeeded", StartLimit);
        var before = await http.GetFromJsonAsync<JsonElement>($"/api/v1/generations/{id}");

        using var response = await http.PostAsync($"/api/v1/generations/{id}/cancel", null);

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var after = await http.GetFromJsonAsync<JsonElement>($"/api/v1/generations/{id}");
        Assert.Equal("succeeded", after.GetProperty("status").GetString());
        Assert.Equal(before.GetProperty("updatedAt").GetString(), after.GetProperty("updatedAt").GetString());
        Assert.False(after.GetProperty("cancelRequested").GetBoolean());
        Assert.Equal(0, after.GetProperty("creditsRefunded").GetInt64());
        Assert.Single(after.GetProperty("outputs").EnumerateArray());
        Assert.Equal(startBalance - 1, await SampleHosts.BalanceAsync(http));
        Assert.Equal(0, _replicate.CancelCalls);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ApiAndTwoWorkers_OneWorkerGets429_NoWorkerCreatesAPredictionBeforeItsRetryAfterDate()
    {
        // One slot per worker: while the worker that got the 429 waits out the pause inside its create call, every job
        // submitted during the pause can only go to the other worker.
        using var http = await StartApiAsync();
        var startedWorkers = 0;
        var bothStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var worker = new Dictionary<string, string>
        {
            ["MediaGen__Worker__Concurrency"] = "1",
            ["Logging__LogLevel__MediaGen.Internal.MediaGenerationWorker"] = "Information",
        };
        void Watch(string? line)
        {
            if (line?.Contains("MediaGen worker started", StringComparison.Ordinal) == true && Interlocked.Increment(ref startedWorkers) == 2)
            {
                bothStarted.TrySetResult();
            }
        }

        Start("MediaGen.Samples.Worker", worker, Watch);
        Start("MediaGen.Samples.Worker", worker, Watch);
        await bothStarted.Task.WaitAsync(StartLimit);
        var startBalance = await SampleHosts.BalanceAsync(http);

        // Replicate throttles the first create until a date 10 s after it answers (whole seconds, as HTTP dates are): the
        // date is taken when the 429 is sent, so a slow start of the worker cannot eat into the pause the test needs.
        long untilTicks = 0;
        _replicate.Inject("create", 429, "Request was throttled. Expected available in 10 seconds.", retryAfter: () =>
        {
            var now = TimeProvider.System.GetUtcNow();
            var date = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero).AddSeconds(10);
            Interlocked.Exchange(ref untilTicks, date.UtcTicks);
            return date.ToString("r", CultureInfo.InvariantCulture);
        });
        var first = await SubmitAsync(http, "flux-schnell", "the lighthouse that was throttled");

        // Once the pause is in the shared store, submit more: the idle worker receives them during the pause.
        DateTimeOffset until;
        var (connection, multiplexer) = await RedisTestServer.ConnectAsync();
        await using (multiplexer)
        {
            var pauses = new RedisProviderPauseStore(connection, RedisTestServer.Options(_prefix), TimeProvider.System);
            await SampleHosts.WaitUntilAsync(async () => await pauses.GetAsync(Provider) is not null, StartLimit, "the 429 to pause the provider in Redis");
            var recorded = (await pauses.GetAsync(Provider))!.Value;
            until = new DateTimeOffset(Interlocked.Read(ref untilTicks), TimeSpan.Zero);
            Assert.True(recorded >= until && recorded < until.AddSeconds(1), $"The pause recorded in Redis ends at {recorded:O}; the Retry-After date is {until:O}.");
        }

        var more = new[]
        {
            await SubmitAsync(http, "flux-schnell", "a lighthouse submitted during the pause"),
            await SubmitAsync(http, "flux-schnell", "another lighthouse submitted during the pause"),
        };
        var submitted = TimeProvider.System.GetUtcNow();
        output.WriteLine($"Jobs submitted {(until - submitted).TotalSeconds:0.0} s before the pause ends.");
        Assert.True(submitted < until.AddSeconds(-2), $"The jobs were submitted at {submitted:O}, too close to the end of the pause ({until:O}) to test it.");

        string[] all = [first, .. more];
        await http.WaitForJobsAsync(all, j => j.Status() == "succeeded", StartLimit);

        var arrivals = _replicate.CreateArrivals.ToArray();
        Assert.Equal(4, arrivals.Length);
        Assert.All(arrivals.Skip(1), at => Assert.True(at >= until, $"A create arrived at {at:O}, {(until - at).TotalMilliseconds:0} ms before the pause ended ({until:O})."));
        Assert.Equal(3, _replicate.PredictionsCreated);
        Assert.Equal(startBalance - 3, await SampleHosts.BalanceAsync(http));
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ApiWorkerAndOperator_FailedJobRetriedAndDeadLetterReplayed_EachRunsAgainToSucceededChargedPerRun()
    {
        using var http = await StartApiAsync();
        Start("MediaGen.Samples.Worker", new()
        {
            ["MediaGen__MaxAttempts"] = "2",
            ["MediaGen__Worker__Retry__Delay"] = "00:00:00.100",
            ["MediaGen__Worker__Retry__UseJitter"] = "false",
        });
        var startBalance = await SampleHosts.BalanceAsync(http);

        // A prediction that fails fails the job for good, refunded; the owner's retry over HTTP runs it again.
        _replicate.FailWith = "The model refused the prompt.";
        var failed = await SubmitAsync(http, "flux-schnell", "a lighthouse refused once");
        await http.WaitForJobAsync(failed, j => j.Status() == "failed", StartLimit);
        Assert.Equal(startBalance, await SampleHosts.BalanceAsync(http));
        _replicate.FailWith = null;

        using var retry = await http.PostAsync($"/api/v1/generations/{failed}/retry", null);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        Assert.Equal(2, (await retry.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("run").GetInt32());
        Assert.Equal(startBalance - 1, await SampleHosts.BalanceAsync(http));
        await http.WaitForJobAsync(failed, j => j.Status() == "succeeded", StartLimit);
        Assert.Equal(2, _replicate.PredictionsCreated);

        // Creates that keep failing exhaust the attempts: the job fails, refunded, and its message is dead-lettered.
        for (var i = 0; i < 50; i++)
        {
            _replicate.Inject("create", 503, "Service temporarily unavailable.");
        }

        var exhausted = await SubmitAsync(http, "flux-schnell", "a lighthouse while the provider is down");
        await http.WaitForJobAsync(exhausted, j => j.Status() == "failed", StartLimit);
        _replicate.ClearInjected("create");
        Assert.Equal(startBalance - 1, await SampleHosts.BalanceAsync(http));

        // An operator's process (the library, no worker) replays the dead letter; the worker process runs it.
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMediaGeneration()
            .UseRedisQueue(o =>
            {
                o.Configuration = RedisTestServer.Address;
                o.KeyPrefix = _prefix;
            })
            .ConfigureCredits(o => o.InitialBalance = 1000)
            .AddReplicateGenerator(o =>
            {
                o.ApiToken = FakeReplicateServer.Token;
                o.BaseUrl = _replicate.BaseUrl;
            });
        await using (var operatorProcess = services.BuildServiceProvider())
        {
            var queue = operatorProcess.GetRequiredService<IJobQueue>();
            var deadLetter = Assert.Single(await queue.ListDeadLettersAsync(), d => d.Message.JobId == exhausted);
            Assert.Equal(MediaGenErrorCodes.AttemptsExhausted, deadLetter.Reason);

            var replayed = await operatorProcess.GetRequiredService<IMediaGenerationClient>().ReplayDeadLetterAsync(deadLetter.Message.MessageId);

            Assert.Equal((JobStatus.Pending, 2), (replayed!.Status, replayed.Run));
            Assert.DoesNotContain(await queue.ListDeadLettersAsync(), d => d.Message.JobId == exhausted);
        }

        await http.WaitForJobAsync(exhausted, j => j.Status() == "succeeded", StartLimit);
        var job = await http.GetFromJsonAsync<JsonElement>($"/api/v1/generations/{exhausted}");
        Assert.Equal((2, 1L, 0L), (job.GetProperty("run").GetInt32(), job.GetProperty("creditsCharged").GetInt64(), job.GetProperty("creditsRefunded").GetInt64()));
        Assert.Single(job.GetProperty("outputs").EnumerateArray());
        Assert.Equal(startBalance - 2, await SampleHosts.BalanceAsync(http));
        Assert.Equal(3, _replicate.PredictionsCreated);
    }

    private async Task<HttpClient> StartApiAsync()
    {
        var api = Start("MediaGen.Samples.Api", new() { ["MediaGen__Worker__Enabled"] = "false" });
        return new HttpClient { BaseAddress = await _hosts!.WaitUntilListeningAsync(api, StartLimit), Timeout = TimeSpan.FromSeconds(30) };
    }

    private Process Start(string project, Dictionary<string, string>? environment = null, Action<string?>? lines = null)
    {
        _hosts ??= new SampleHosts(new Dictionary<string, string>(RedisTestServer.SampleHostEnvironment(_prefix, Lease, _media))
        {
            ["MediaGen__Generators__Replicate__ApiToken"] = FakeReplicateServer.Token,
            ["MediaGen__Generators__Replicate__BaseUrl"] = _replicate.BaseUrl.AbsoluteUri,
            ["MediaGen__Generators__Replicate__PollInitialInterval"] = "00:00:00.100",
            ["MediaGen__Generators__Replicate__PollMaxInterval"] = "00:00:00.200",
            ["MediaGen__Generators__Replicate__RetryBaseDelay"] = "00:00:00.050",
            ["MediaGen__Generators__Replicate__UnconfirmedCreateLookupDelay"] = "00:00:00.100",
        });
        return _hosts.Start(project, environment, lines);
    }

    private static async Task<string> SubmitAsync(HttpClient http, string model, string prompt)
    {
        using var response = await http.PostAsJsonAsync("/api/v1/generations", new { prompt, model });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    /// <summary>The prediction the job's worker saved as its checkpoint, read from the job store in Redis.</summary>
    private async Task<string> PredictionOfAsync(string jobId)
    {
        var (connection, multiplexer) = await RedisTestServer.ConnectAsync();
        await using (multiplexer)
        {
            var store = new RedisJobStore(connection, RedisTestServer.Options(_prefix), TimeProvider.System);
            return (await store.GetAsync(jobId))?.Checkpoint ?? throw new InvalidOperationException($"Job {jobId} has no checkpoint.");
        }
    }

    /// <summary>Reads a job's server-sent events in the background, noting when each arrived.</summary>
    private sealed class EventWatch : IDisposable
    {
        private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(60));
        private readonly ConcurrentQueue<(string Name, long At)> _seen = new();
        private readonly SemaphoreSlim _arrived = new(0);
        private readonly Task _reading;

        public EventWatch(HttpClient http, string jobId)
        {
            _reading = ReadAsync(http, jobId);
        }

        public IReadOnlyList<string> Names => _seen.Select(e => e.Name).ToList();

        public int IndexOf(string name) => Names.ToList().IndexOf(name);

        /// <summary>Waits for the first event named <paramref name="name"/>; returns when it arrived (a Stopwatch timestamp).</summary>
        public async Task<long> WaitForAsync(string name)
        {
            while (true)
            {
                foreach (var (seen, at) in _seen)
                {
                    if (seen == name)
                    {
                        return at;
                    }
                }

                Assert.False(_reading.IsCompleted, $"The event stream ended without '{name}'; it sent {string.Join(", ", Names)}.");
                try
                {
                    await _arrived.WaitAsync(_stop.Token);
                }
                catch (OperationCanceledException)
                {
                    throw new TimeoutException($"No '{name}' event; the stream sent {string.Join(", ", Names)}.");
                }
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _stop.Dispose();
        }

        private async Task ReadAsync(HttpClient http, string jobId)
        {
            try
            {
                using var response = await http.GetAsync($"/api/v1/generations/{jobId}/events", HttpCompletionOption.ResponseHeadersRead, _stop.Token);
                await foreach (var (name, _) in response.ReadEventsAsync(_stop.Token))
                {
                    if (name != ":")
                    {
                        _seen.Enqueue((name, Stopwatch.GetTimestamp()));
                        _arrived.Release();
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Disposed.
            }
            finally
            {
                _arrived.Release();
            }
        }
    }
}
