using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using MediaGen.Compliance;

namespace MediaGen.Queue.ServiceBus.Tests;

/// <summary>
/// The mixed deployment as separate processes: the sample API (worker off) and two sample workers, with the queue on
/// Service Bus (the test endpoint) and the job store, ledger and events on Redis (<c>MediaGen:Store:Provider=Redis</c>),
/// so each lifecycle step is composed seam by seam. One worker is SIGKILLed while it generates: every job still
/// succeeds once, with one set of outputs, and every owner is charged exactly once per job.
/// </summary>
public sealed class ServiceBusWithRedisStoreTests : IAsyncLifetime
{
    private const string EndpointVariable = "MEDIAGEN_SERVICEBUS_ENDPOINT";
    private const string RedisVariable = "MEDIAGEN_REDIS";
    private const int Jobs = 40;
    private readonly List<Process> _processes = [];
    private readonly DirectoryInfo _media = Directory.CreateTempSubdirectory("mediagen-servicebus-redis");
    private readonly string _prefix = "sbr" + Guid.NewGuid().ToString("N")[..12];

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }

            process.Dispose();
        }

        _media.Delete(recursive: true);
        return Task.CompletedTask;
    }

    [ServerFact(EndpointVariable)]
    public async Task ApiAndTwoWorkers_OneKilledMidGeneration_EveryJobSucceedsOnceAndIsChargedOnce()
    {
        var port = FreePort();
        Start("MediaGen.Samples.Api", new() { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}", ["MediaGen__Worker__Enabled"] = "false" });
        var doomed = Start("MediaGen.Samples.Worker", []);
        Start("MediaGen.Samples.Worker", []);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        await WaitUntilAsync(async () => await TryGetAsync(http, "/api/v1/models"), TimeSpan.FromSeconds(60), "the API to start");
        var startBalance = await BalanceAsync(http);

        var ids = await Task.WhenAll(Enumerable.Range(0, Jobs).Select(async i =>
        {
            using var response = await http.PostAsJsonAsync("/api/v1/generations", new { prompt = $"a lighthouse between two systems, variation {i}", model = "procedural" });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        }));

        // Kill the first worker once jobs are running: its runs' locks lapse, and the other worker takes them over.
        await WaitUntilAsync(async () => await CountAsync(http, "processing") > 0, TimeSpan.FromSeconds(60), "a job to be running");
        doomed.Kill();
        doomed.WaitForExit();

        await WaitUntilAsync(async () => await CountAsync(http, "succeeded") == Jobs, TimeSpan.FromSeconds(120), $"every job to succeed: {await CountAsync(http, "pending")} pending, {await CountAsync(http, "processing")} processing, {await CountAsync(http, "succeeded")} succeeded, {await CountAsync(http, "failed")} failed");
        var jobs = await Task.WhenAll(ids.Select(id => http.GetFromJsonAsync<JsonElement>($"/api/v1/generations/{id}")));
        Assert.All(jobs, job =>
        {
            Assert.Equal("succeeded", job.GetProperty("status").GetString());
            Assert.Single(job.GetProperty("outputs").EnumerateArray());
            Assert.Equal(0, job.GetProperty("creditsRefunded").GetInt64());
        });
        Assert.Equal(startBalance - jobs.Sum(j => j.GetProperty("creditsCharged").GetInt64()), await BalanceAsync(http));
    }

    private Process Start(string project, Dictionary<string, string> environment)
    {
        var root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var dll = Path.Combine(root, "samples", project, "bin", configuration, "net10.0", project + ".dll");
        Assert.True(File.Exists(dll), $"{dll} is missing; build the solution first.");
        var start = new ProcessStartInfo("dotnet", [dll]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["MediaGen__Queue__Provider"] = "ServiceBus";
        start.Environment["MediaGen__ServiceBus__ConnectionString"] = ServerEnvironment.Require(EndpointVariable);
        start.Environment["MediaGen__ServiceBus__QueueName"] = "workers";
        start.Environment["MediaGen__Store__Provider"] = "Redis";
        start.Environment["MediaGen__Redis__Configuration"] = ServerEnvironment.Require(RedisVariable);
        start.Environment["MediaGen__Redis__KeyPrefix"] = _prefix;
        start.Environment["MediaGen__FileSystem__RootPath"] = _media.FullName;
        start.Environment["MediaGen__Generators__Procedural__SimulatedDuration"] = "00:00:01";
        start.Environment["MediaGen__Generators__Procedural__ProgressSteps"] = "2";
        start.Environment["MediaGen__Worker__Concurrency"] = "8";
        start.Environment["MediaGen__Credits__InitialBalance"] = "1000";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes.Add(process);
        return process;
    }

    private static async Task<int> CountAsync(HttpClient http, string status)
    {
        var page = await http.GetFromJsonAsync<JsonElement>($"/api/v1/generations?status={status}&limit=200");
        return page.GetProperty("items").GetArrayLength();
    }

    private static async Task<long> BalanceAsync(HttpClient http) =>
        (await http.GetFromJsonAsync<JsonElement>("/api/v1/credits")).GetProperty("balance").GetInt64();

    private static async Task<bool> TryGetAsync(HttpClient http, string path)
    {
        try
        {
            using var response = await http.GetAsync(path);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var started = Stopwatch.GetTimestamp();
        while (!await condition())
        {
            Assert.True(Stopwatch.GetElapsedTime(started) < timeout, $"Timed out waiting for {what}.");
            await Task.Delay(100);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
