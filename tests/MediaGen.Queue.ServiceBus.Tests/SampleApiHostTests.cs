using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using MediaGen.Compliance;

namespace MediaGen.Queue.ServiceBus.Tests;

/// <summary>
/// The sample API host as its own process, configured only through its environment
/// (<c>MediaGen__Queue__Provider=ServiceBus</c> and the endpoint's connection string), with its worker in the same
/// process, on the test endpoint that eng/test.sh starts (<c>MEDIAGEN_SERVICEBUS_ENDPOINT</c>).
/// </summary>
public sealed class SampleApiHostTests : IAsyncLifetime
{
    private const string Variable = "MEDIAGEN_SERVICEBUS_ENDPOINT";
    private readonly DirectoryInfo _media = Directory.CreateTempSubdirectory("mediagen-servicebus-sample");
    private Process? _api;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        if (_api is { HasExited: false })
        {
            _api.Kill(entireProcessTree: true);
            _api.WaitForExit();
        }

        _api?.Dispose();
        _media.Delete(recursive: true);
        return Task.CompletedTask;
    }

    [ServerFact(Variable)]
    public async Task SampleApi_OnServiceBusThroughTheEndpoint_RunsEveryJobToSucceededAndChargesOnce()
    {
        const int jobs = 60;
        var port = FreePort();
        _api = StartApi(port);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        await WaitUntilAsync(async () => await TryGetAsync(http, "/api/v1/models"), TimeSpan.FromSeconds(60), "the API to start");
        var startBalance = (await http.GetFromJsonAsync<JsonElement>("/api/v1/credits")).GetProperty("balance").GetInt64();

        var ids = await Task.WhenAll(Enumerable.Range(0, jobs).Select(async i =>
        {
            using var response = await http.PostAsJsonAsync("/api/v1/generations", new { prompt = $"a lighthouse on Service Bus, variation {i}", model = "procedural" });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        }));

        var finished = new Dictionary<string, JsonElement>();
        await WaitUntilAsync(
            async () =>
            {
                foreach (var id in ids.Where(id => !finished.ContainsKey(id)))
                {
                    var job = await http.GetFromJsonAsync<JsonElement>($"/api/v1/generations/{id}");
                    if (job.GetProperty("status").GetString() is "succeeded" or "failed" or "canceled")
                    {
                        finished[id] = job;
                    }
                }

                return finished.Count == jobs;
            },
            TimeSpan.FromSeconds(120),
            "every job to finish");

        Assert.All(finished.Values, job =>
        {
            Assert.Equal("succeeded", job.GetProperty("status").GetString());
            Assert.Single(job.GetProperty("outputs").EnumerateArray());
        });
        Assert.Equal(startBalance - jobs, (await http.GetFromJsonAsync<JsonElement>("/api/v1/credits")).GetProperty("balance").GetInt64());
        Assert.False(_api.HasExited);
    }

    private Process StartApi(int port)
    {
        var root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var dll = Path.Combine(root, "samples", "MediaGen.Samples.Api", "bin", configuration, "net10.0", "MediaGen.Samples.Api.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing; build the solution first.");
        var start = new ProcessStartInfo("dotnet", [dll]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["MediaGen__Queue__Provider"] = "ServiceBus";
        start.Environment["MediaGen__ServiceBus__ConnectionString"] = ServerEnvironment.Require(Variable);
        start.Environment["MediaGen__ServiceBus__QueueName"] = "samples";
        start.Environment["MediaGen__Worker__Enabled"] = "true";
        start.Environment["MediaGen__Worker__Concurrency"] = "8";
        start.Environment["MediaGen__FileSystem__RootPath"] = _media.FullName;
        start.Environment["MediaGen__Generators__Procedural__SimulatedDuration"] = "00:00:00.200";
        start.Environment["MediaGen__Generators__Procedural__ProgressSteps"] = "2";
        start.Environment["MediaGen__Credits__InitialBalance"] = "1000";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => Console.WriteLine("[api] " + e.Data);
        process.ErrorDataReceived += (_, e) => Console.WriteLine("[api] " + e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

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

    /// <summary>Polls a real process over HTTP until <paramref name="condition"/> holds, failing after <paramref name="timeout"/>.</summary>
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
