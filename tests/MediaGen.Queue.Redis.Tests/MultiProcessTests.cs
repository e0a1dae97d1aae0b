namespace MediaGen.Queue.Redis.Tests;

/// <summary>
/// The sample API host and two sample worker hosts as separate processes on one Redis. 500 jobs are submitted over
/// HTTP; one worker is killed with SIGKILL while it generates. Every job must end Succeeded with one set of outputs,
/// and the owner must be charged exactly once per job.
/// </summary>
public sealed class MultiProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Jobs = 500;
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(3);
    private readonly DirectoryInfo _media = Directory.CreateTempSubdirectory("mediagen-multiprocess");
    private readonly string _prefix = RedisTestServer.NewPrefix();
    private SampleHosts? _hosts;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _hosts?.Dispose();
        _media.Delete(recursive: true);
        return Task.CompletedTask;
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ApiAndTwoWorkers_OneWorkerKilledMidGeneration_EveryJobSucceedsOnceAndIsChargedOnce()
    {
        var api = Start("MediaGen.Samples.Api", new() { ["MediaGen__Worker__Enabled"] = "false" });
        var doomed = Start("MediaGen.Samples.Worker", []);
        Start("MediaGen.Samples.Worker", []);
        using var http = new HttpClient { BaseAddress = await _hosts!.WaitUntilListeningAsync(api, TimeSpan.FromSeconds(60)), Timeout = TimeSpan.FromSeconds(30) };
        var startBalance = await BalanceAsync(http);

        var ids = new List<string>(Jobs);
        for (var start = 0; start < Jobs; start += 50)
        {
            var batch = await Task.WhenAll(Enumerable.Range(start, 50).Select(async i =>
            {
                using var response = await http.PostAsJsonAsync("/api/v1/generations", new { prompt = $"a lighthouse, variation {i}", model = "procedural" });
                Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
                return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            }));
            ids.AddRange(batch);
        }

        // Kill the first worker once it is visibly generating (some jobs done, others running).
        // "Some jobs done and some running now" is a passing state across hundreds of jobs, true only while both hold:
        // following every job's events at once to catch it overloads the machine and still misses it, so the job lists
        // are polled for it.
        await WaitUntilAsync(async () => await CountAsync(http, "succeeded") >= 40 && await CountAsync(http, "processing") > 0, TimeSpan.FromSeconds(60), "the workers to be busy");
        doomed.Kill();
        doomed.WaitForExit();
        var killedAt = Stopwatch.GetTimestamp();

        await http.WaitForJobsAsync(ids, j => j.Status() == "succeeded", TimeSpan.FromSeconds(120));
        var recovery = Stopwatch.GetElapsedTime(killedAt);

        var jobs = await Task.WhenAll(ids.Select(id => http.GetFromJsonAsync<JsonElement>($"/api/v1/generations/{id}")));
        Assert.All(jobs, job =>
        {
            Assert.Equal("succeeded", job.GetProperty("status").GetString());
            var outputs = job.GetProperty("outputs").EnumerateArray().ToList();
            Assert.Single(outputs);
        });

        // The killed worker's jobs were taken over by the other one after their leases expired.
        Assert.Contains(jobs, job => job.GetProperty("attempt").GetInt32() >= 2);
        Assert.Equal(0, await CountAsync(http, "pending") + await CountAsync(http, "processing"));
        Assert.Equal(startBalance - Jobs, await BalanceAsync(http));
        Assert.False(api.HasExited);
        Assert.True(recovery < TimeSpan.FromSeconds(120), $"recovery took {recovery}");
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ApiAndWorker_SomeImagesFailed_JobSucceedsWithTheOthersAndRefundsExactlyTheFailedShareOnce()
    {
        // Priced per image: procedural-hd costs 4 credits an image, procedural 1. Three jobs through the API process, run
        // by a worker process: images 1 and 3 of four fail; every image of two fails; all three images of a third succeed.
        var api = Start("MediaGen.Samples.Api", new() { ["MediaGen__Worker__Enabled"] = "false" });
        using var http = new HttpClient { BaseAddress = await _hosts!.WaitUntilListeningAsync(api, TimeSpan.FromSeconds(60)), Timeout = TimeSpan.FromSeconds(30) };
        var startBalance = await BalanceAsync(http);

        async Task<string> SubmitAsync(object body)
        {
            using var response = await http.PostAsJsonAsync("/api/v1/generations", body);
            Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        }

        var partial = await SubmitAsync(new { prompt = "a lighthouse in fog", model = "procedural-hd", width = 64, height = 64, outputCount = 4, parameters = new { failOutputs = "1,3" } });
        var none = await SubmitAsync(new { prompt = "a harbour in fog", model = "procedural", outputCount = 2, parameters = new { failOutputs = "0,1" } });
        var whole = await SubmitAsync(new { prompt = "a cliff in fog", model = "procedural", outputCount = 3 });
        Assert.Equal(startBalance - 16 - 2 - 3, await BalanceAsync(http));

        // The worker starts only now: one already running could finish a job, and refund its share, before the balance
        // above is read.
        var worker = Start("MediaGen.Samples.Worker", []);
        string[] ids = [partial, none, whole];
        await http.WaitForJobsAsync(ids, j => j.IsFinished(), TimeSpan.FromSeconds(60));
        var jobs = (await Task.WhenAll(ids.Select(id => http.GetFromJsonAsync<JsonElement>($"/api/v1/generations/{id}")))).ToDictionary(j => j.GetProperty("id").GetString()!);

        var partialJob = jobs[partial];
        Assert.Equal("succeeded", partialJob.GetProperty("status").GetString());
        Assert.Equal((16L, 8L), (partialJob.GetProperty("creditsCharged").GetInt64(), partialJob.GetProperty("creditsRefunded").GetInt64()));
        Assert.Equal([0, 2], partialJob.GetProperty("outputs").EnumerateArray().Select(o => o.GetProperty("index").GetInt32()));
        Assert.Equal([1, 3], partialJob.GetProperty("failedOutputs").EnumerateArray().Select(o => o.GetProperty("index").GetInt32()));
        Assert.Equal(["0.png", "2.png"], Directory.GetFiles(Path.Combine(_media.FullName, partial), "*.png").Select(Path.GetFileName).Order(StringComparer.Ordinal));

        var noneJob = jobs[none];
        Assert.Equal("failed", noneJob.GetProperty("status").GetString());
        Assert.Equal(MediaGenErrorCodes.GeneratorPermanent, noneJob.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal((2L, 2L), (noneJob.GetProperty("creditsCharged").GetInt64(), noneJob.GetProperty("creditsRefunded").GetInt64()));
        Assert.Empty(noneJob.GetProperty("outputs").EnumerateArray());

        var wholeJob = jobs[whole];
        Assert.Equal("succeeded", wholeJob.GetProperty("status").GetString());
        Assert.Equal((3L, 0L), (wholeJob.GetProperty("creditsCharged").GetInt64(), wholeJob.GetProperty("creditsRefunded").GetInt64()));
        Assert.Equal(3, wholeJob.GetProperty("outputs").GetArrayLength());
        Assert.Empty(wholeJob.GetProperty("failedOutputs").EnumerateArray());

        var expected = startBalance - (16 - 8) - (2 - 2) - (3 - 0);
        Assert.Equal(expected, await BalanceAsync(http));

        // A message delivered again after the partial success (as after a crash before its lease settled) is dropped by
        // the worker without refunding a second time.
        var (connection, multiplexer) = await RedisTestServer.ConnectAsync();
        using (multiplexer)
        {
            await using var queue = RedisTestServer.Queue(connection, RedisTestServer.Options(_prefix, Lease), TimeProvider.System);
            await queue.EnqueueAsync(new QueueMessage(partial));
            await queue.EnqueueAsync(new QueueMessage(none));
            await WaitUntilAsync(async () => await queue.GetDepthAsync() == new QueueDepth(0, 0, 0, 0), TimeSpan.FromSeconds(30), "the worker to drop the redelivered messages");
        }

        var again = await http.GetFromJsonAsync<JsonElement>($"/api/v1/generations/{partial}");
        Assert.Equal(partialJob.GetProperty("updatedAt").GetDateTimeOffset(), again.GetProperty("updatedAt").GetDateTimeOffset());
        Assert.Equal(8, again.GetProperty("creditsRefunded").GetInt64());
        Assert.Equal(expected, await BalanceAsync(http));
        Assert.False(worker.HasExited);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ApiAndWorkers_WorkersKilledRepeatedly_EveryJobEndsWithinALeaseAndARenewalOfTheLastKill()
    {
        // Four-second generations, some failing for good and some failing once; workers SIGKILLed five times while they
        // run. A killed worker's runs are owned by leases that lapse Lease after its last renewal (at most Lease / 2
        // before the kill), and the survivors take them over then, without the sweeper (which is minutes away).
        var duration = TimeSpan.FromSeconds(4);
        var worker = new Dictionary<string, string> { ["MediaGen__Generators__Procedural__SimulatedDuration"] = duration.ToString("c", CultureInfo.InvariantCulture) };
        var api = Start("MediaGen.Samples.Api", new(worker) { ["MediaGen__Worker__Enabled"] = "false" });
        var workers = new List<Process> { Start("MediaGen.Samples.Worker", worker), Start("MediaGen.Samples.Worker", worker) };
        using var http = new HttpClient { BaseAddress = await _hosts!.WaitUntilListeningAsync(api, TimeSpan.FromSeconds(60)), Timeout = TimeSpan.FromSeconds(30) };
        var startBalance = await BalanceAsync(http);

        string[] failures = [.. Enumerable.Repeat("none", 16), "permanent", "permanent", "permanent", "permanent", "transient-once", "transient-once", "transient-once", "transient-once"];
        var ids = await Task.WhenAll(failures.Select(async (failure, i) =>
        {
            object body = failure == "none"
                ? new { prompt = $"a slow lighthouse {i}", model = "procedural" }
                : new { prompt = $"a failing lighthouse {i}", model = "procedural", parameters = new Dictionary<string, string> { ["simulateFailure"] = failure } };
            using var response = await http.PostAsJsonAsync("/api/v1/generations", body);
            Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        }));

        var random = new Random(7);
        var lastKill = Stopwatch.GetTimestamp();
        for (var kill = 0; kill < 5; kill++)
        {
            await WaitUntilAsync(async () => await CountAsync(http, "processing") > 0, TimeSpan.FromSeconds(60), "a job to be running");
            await Task.Delay(TimeSpan.FromMilliseconds(random.Next(500, 2500)));
            var victim = workers[random.Next(workers.Count)];
            victim.Kill();
            victim.WaitForExit();
            lastKill = Stopwatch.GetTimestamp();
            workers.Remove(victim);
            workers.Add(Start("MediaGen.Samples.Worker", worker));
        }

        // One lease period and one renewal interval for the takeover, then at most two attempts of the generation and a
        // retry delay for a job that fails once, with room for a loaded machine to start processes.
        var bound = Lease + (Lease / 2) + (2 * duration) + TimeSpan.FromSeconds(2) + TimeSpan.FromSeconds(15);
        await http.WaitForJobsAsync(ids, j => j.IsFinished(), bound + TimeSpan.FromSeconds(60));
        var ended = Stopwatch.GetElapsedTime(lastKill);
        output.WriteLine($"Every job ended {ended.TotalSeconds:0.0} s after the last of five kills (bound {bound.TotalSeconds:0.0} s).");
        Assert.True(ended <= bound, $"The last job ended {ended.TotalSeconds:0.0} s after the last kill; the bound is {bound.TotalSeconds:0.0} s.");

        var jobs = await Task.WhenAll(ids.Select(id => http.GetFromJsonAsync<JsonElement>($"/api/v1/generations/{id}")));
        long spent = 0;
        for (var i = 0; i < jobs.Length; i++)
        {
            var status = jobs[i].GetProperty("status").GetString();
            var charged = jobs[i].GetProperty("creditsCharged").GetInt64();
            var refunded = jobs[i].GetProperty("creditsRefunded").GetInt64();
            Assert.Equal(failures[i] == "permanent" ? "failed" : "succeeded", status);
            Assert.Equal(status == "failed" ? charged : 0, refunded);
            if (status == "succeeded")
            {
                Assert.Single(jobs[i].GetProperty("outputs").EnumerateArray());
            }

            spent += charged - refunded;
        }

        Assert.Contains(jobs, job => job.GetProperty("attempt").GetInt32() >= 2);
        Assert.Equal(startBalance - spent, await BalanceAsync(http));
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ApiAndWorker_RedisKilledAndRestartedMidRun_LoseNoAcceptedJobAndReconnectByThemselves()
    {
        using var redis = new RedisServerProcess();
        await redis.StartAsync();
        var environment = new Dictionary<string, string> { ["MediaGen__Redis__Configuration"] = redis.Address };
        var api = Start("MediaGen.Samples.Api", new(environment) { ["MediaGen__Worker__Enabled"] = "false" });
        var worker = Start("MediaGen.Samples.Worker", environment);
        using var http = new HttpClient { BaseAddress = await _hosts!.WaitUntilListeningAsync(api, TimeSpan.FromSeconds(60)), Timeout = TimeSpan.FromSeconds(30) };
        var startBalance = await BalanceAsync(http);

        var accepted = new List<string>();
        var refused = 0;
        async Task SubmitAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                using var response = await http.PostAsJsonAsync("/api/v1/generations", new { prompt = $"a harbour, variation {accepted.Count + refused}", model = "procedural" });
                if (response.StatusCode == System.Net.HttpStatusCode.Accepted)
                {
                    accepted.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
                }
                else
                {
                    Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, response.StatusCode);
                    refused++;
                }
            }
        }

        await SubmitAsync(100);
        await http.WaitForJobsAsync(accepted.Take(10), j => j.IsFinished(), TimeSpan.FromSeconds(60));
        redis.Kill();
        await SubmitAsync(5);
        Assert.Equal(5, refused);
        await redis.StartAsync();

        // Neither host is restarted: both must reconnect by themselves.
        await WaitUntilAsync(async () => await SampleHosts.RespondsAsync(http, "/api/v1/credits"), TimeSpan.FromSeconds(60), "the API to reconnect");
        await SubmitAsync(50);
        await http.WaitForJobsAsync(accepted, j => j.Status() == "succeeded", TimeSpan.FromSeconds(120));

        Assert.Equal(150, accepted.Count);
        Assert.Equal(startBalance - accepted.Count, await BalanceAsync(http));
        Assert.False(api.HasExited);
        Assert.False(worker.HasExited);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ApiAndWorker_OwnerWithABacklogThenAnotherOwner_ServesTheOtherOwnerInItsTurn()
    {
        // Owner A queues 2,000 jobs on a worker that runs 4 at a time (300 ms each: minutes of backlog); then owner B
        // submits one. Within the priority, owners are served in turn: B's job starts before more than the worker's
        // concurrency of A's jobs have started after B's submission.
        const int Concurrency = 4;
        var environment = new Dictionary<string, string>
        {
            ["MediaGen__Samples__ApiKeys__key-a"] = "owner-a",
            ["MediaGen__Samples__ApiKeys__key-b"] = "owner-b",
            ["MediaGen__Credits__InitialBalance"] = "5000",
            ["MediaGen__Worker__Concurrency"] = Concurrency.ToString(CultureInfo.InvariantCulture),
        };
        var api = Start("MediaGen.Samples.Api", new(environment) { ["MediaGen__Worker__Enabled"] = "false" });
        Start("MediaGen.Samples.Worker", environment);
        using var a = new HttpClient { BaseAddress = await _hosts!.WaitUntilListeningAsync(api, TimeSpan.FromSeconds(60)), Timeout = TimeSpan.FromSeconds(30) };
        a.DefaultRequestHeaders.Add("X-Api-Key", "key-a");
        using var b = new HttpClient { BaseAddress = a.BaseAddress, Timeout = a.Timeout };
        b.DefaultRequestHeaders.Add("X-Api-Key", "key-b");

        for (var start = 0; start < 2_000; start += 50)
        {
            await Task.WhenAll(Enumerable.Range(start, 50).Select(async i =>
            {
                using var response = await a.PostAsJsonAsync("/api/v1/generations", new { prompt = $"owner a, job {i}", model = "procedural" });
                Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
            }));
        }

        using var submitted = await b.PostAsJsonAsync("/api/v1/generations", new { prompt = "owner b's only job", model = "procedural" });
        Assert.Equal(System.Net.HttpStatusCode.Accepted, submitted.StatusCode);
        var id = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var job = await b.WaitForJobAsync(id, j => j.Status() == "succeeded", TimeSpan.FromSeconds(60));
        var submittedAt = job.GetProperty("createdAt").GetDateTimeOffset();
        var startedAt = job.GetProperty("startedAt").GetDateTimeOffset();

        var aStarts = new List<DateTimeOffset>();
        foreach (var status in new[] { "processing", "succeeded" })
        {
            string? cursor = null;
            do
            {
                var page = await a.GetFromJsonAsync<JsonElement>($"/api/v1/generations?status={status}&limit=200" + (cursor is null ? string.Empty : $"&cursor={Uri.EscapeDataString(cursor)}"));
                aStarts.AddRange(page.GetProperty("items").EnumerateArray().Select(j => j.GetProperty("startedAt").GetDateTimeOffset()));
                cursor = page.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
            }
            while (cursor is not null);
        }

        var pendingA = await CountAsync(a, "pending");
        var startedBetween = aStarts.Count(t => t > submittedAt && t < startedAt);
        output.WriteLine($"Owner B's job started {(startedAt - submittedAt).TotalMilliseconds:0} ms after its submission; {startedBetween} of owner A's jobs started in between; {pendingA} of A's were still pending.");
        Assert.True(pendingA > 1_000, $"Owner A's backlog ({pendingA} pending) should still be long when B's job ends.");
        Assert.InRange(startedBetween, 0, Concurrency);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task TwoApiProcesses_OwnerOverTheSubmissionRate_Get429WithRetryAfterAndNothingWritten()
    {
        // Five submissions per owner per hour, counted across both API processes through Redis.
        const int PerWindow = 5;
        var environment = new Dictionary<string, string>
        {
            ["MediaGen__SubmissionsPerOwner"] = PerWindow.ToString(CultureInfo.InvariantCulture),
            ["MediaGen__SubmissionWindow"] = "01:00:00",
            ["MediaGen__Worker__Enabled"] = "false",
        };
        var hosts = new[] { Start("MediaGen.Samples.Api", environment), Start("MediaGen.Samples.Api", environment) };
        var apis = new HttpClient[hosts.Length];
        for (var i = 0; i < hosts.Length; i++)
        {
            apis[i] = new HttpClient { BaseAddress = await _hosts!.WaitUntilListeningAsync(hosts[i], TimeSpan.FromSeconds(60)), Timeout = TimeSpan.FromSeconds(30) };
        }

        var startBalance = await BalanceAsync(apis[0]);
        var windowBefore = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 3600;
        var accepted = 0;
        var refusals = new List<(string? RetryAfter, JsonElement Problem)>();
        for (var i = 0; i < 12; i++)
        {
            using var response = await apis[i % 2].PostAsJsonAsync("/api/v1/generations", new { prompt = $"a kite {i}", model = "procedural" });
            if (response.StatusCode == System.Net.HttpStatusCode.Accepted)
            {
                accepted++;
                continue;
            }

            Assert.Equal(System.Net.HttpStatusCode.TooManyRequests, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            refusals.Add((response.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(CultureInfo.InvariantCulture), await response.Content.ReadFromJsonAsync<JsonElement>()));
        }

        // The twelve requests took a second or two: within one hour-long window unless they straddled its end.
        var windows = (int)((DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 3600) - windowBefore + 1);
        Assert.InRange(accepted, PerWindow, PerWindow * windows);
        Assert.NotEmpty(refusals);
        Assert.All(refusals, r =>
        {
            Assert.True(double.Parse(r.RetryAfter!, CultureInfo.InvariantCulture) is > 0 and <= 3600, $"Retry-After was {r.RetryAfter}.");
            Assert.Equal("submission_rate_exceeded", r.Problem.GetProperty("code").GetString());
        });

        // Refused submissions wrote and charged nothing.
        Assert.Equal(accepted, await CountAsync(apis[1], "pending"));
        Assert.Equal(startBalance - accepted, await BalanceAsync(apis[1]));
        foreach (var api in apis)
        {
            api.Dispose();
        }
    }

    private Process Start(string project, Dictionary<string, string> environment)
    {
        _hosts ??= new SampleHosts(new Dictionary<string, string>(RedisTestServer.SampleHostEnvironment(_prefix, Lease, _media))
        {
            ["MediaGen__Generators__Procedural__SimulatedDuration"] = "00:00:00.300",
            ["MediaGen__Generators__Procedural__ProgressSteps"] = "3",
            ["MediaGen__Worker__Concurrency"] = "16",
        });
        return _hosts.Start(project, environment);
    }

    private static Task<int> CountAsync(HttpClient http, string status) => SampleHosts.CountAsync(http, status);

    private static Task<long> BalanceAsync(HttpClient http) => SampleHosts.BalanceAsync(http);

    private static Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what) => SampleHosts.WaitUntilAsync(condition, timeout, what);
}
