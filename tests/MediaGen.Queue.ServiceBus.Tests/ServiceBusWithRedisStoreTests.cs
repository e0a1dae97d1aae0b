namespace MediaGen.Queue.ServiceBus.Tests;

/// <summary>
/// The mixed deployment as separate processes: the sample API (worker off) and two sample workers, with the queue on
/// Service Bus (the test endpoint) and the job store, ledger and events on Redis (<c>MediaGen:Store:Provider=Redis</c>),
/// so each lifecycle step is composed seam by seam. One worker is SIGKILLed while it generates: every job still
/// succeeds once, with one set of outputs, and every owner is charged exactly once per job.
/// </summary>
public sealed class ServiceBusWithRedisStoreTests : IDisposable
{
    private const string EndpointVariable = "MEDIAGEN_SERVICEBUS_ENDPOINT";
    private const string RedisVariable = "MEDIAGEN_REDIS";
    private const int Jobs = 40;
    private readonly DirectoryInfo _media = Directory.CreateTempSubdirectory("mediagen-servicebus-redis");
    private SampleHosts? _hosts;

    public void Dispose()
    {
        _hosts?.Dispose();
        _media.Delete(recursive: true);
    }

    [ServerFact(EndpointVariable)]
    public async Task ApiAndTwoWorkers_OneKilledMidGeneration_EveryJobSucceedsOnceAndIsChargedOnce()
    {
        _hosts = new SampleHosts(new Dictionary<string, string>
        {
            ["MediaGen__Queue__Provider"] = "ServiceBus",
            ["MediaGen__ServiceBus__ConnectionString"] = ServerEnvironment.Require(EndpointVariable),
            ["MediaGen__ServiceBus__QueueName"] = "workers",
            ["MediaGen__Store__Provider"] = "Redis",
            ["MediaGen__Redis__Configuration"] = ServerEnvironment.Require(RedisVariable),
            ["MediaGen__Redis__KeyPrefix"] = "sbr" + Guid.NewGuid().ToString("N")[..12],
            ["MediaGen__FileSystem__RootPath"] = _media.FullName,
            ["MediaGen__Generators__Procedural__SimulatedDuration"] = "00:00:01",
            ["MediaGen__Generators__Procedural__ProgressSteps"] = "2",
            ["MediaGen__Worker__Concurrency"] = "8",
            ["MediaGen__Credits__InitialBalance"] = "1000",
            ["Logging__LogLevel__Default"] = "Warning",
        });
        var api = _hosts.Start("MediaGen.Samples.Api", new Dictionary<string, string> { ["MediaGen__Worker__Enabled"] = "false" });
        var doomed = _hosts.Start("MediaGen.Samples.Worker");
        _hosts.Start("MediaGen.Samples.Worker");
        using var http = new HttpClient { BaseAddress = await _hosts.WaitUntilListeningAsync(api, TimeSpan.FromSeconds(60)), Timeout = TimeSpan.FromSeconds(30) };
        var startBalance = await SampleHosts.BalanceAsync(http);

        var ids = await Task.WhenAll(Enumerable.Range(0, Jobs).Select(async i =>
        {
            using var response = await http.PostAsJsonAsync("/api/v1/generations", new { prompt = $"a lighthouse between two systems, variation {i}", model = "procedural" });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        }));

        // Kill the first worker once jobs are running: its runs' locks lapse, and the other worker takes them over.
        // A passing state across the jobs, polled on the job list (see the Redis multi-process tests).
        await SampleHosts.WaitUntilAsync(async () => await SampleHosts.CountAsync(http, "processing") > 0, TimeSpan.FromSeconds(60), "a job to be running");
        doomed.Kill();
        doomed.WaitForExit();

        await http.WaitForJobsAsync(ids, j => j.Status() == "succeeded", TimeSpan.FromSeconds(120));
        var jobs = await Task.WhenAll(ids.Select(id => http.GetFromJsonAsync<JsonElement>($"/api/v1/generations/{id}")));
        Assert.All(jobs, job =>
        {
            Assert.Equal("succeeded", job.GetProperty("status").GetString());
            Assert.Single(job.GetProperty("outputs").EnumerateArray());
            Assert.Equal(0, job.GetProperty("creditsRefunded").GetInt64());
        });
        Assert.Equal(startBalance - jobs.Sum(j => j.GetProperty("creditsCharged").GetInt64()), await SampleHosts.BalanceAsync(http));
    }
}
