namespace MediaGen.Queue.ServiceBus.Tests;

/// <summary>
/// The sample API host as its own process, configured only through its environment
/// (<c>MediaGen__Queue__Provider=ServiceBus</c> and the endpoint's connection string), with its worker in the same
/// process, on the test endpoint that eng/test.sh starts (<c>MEDIAGEN_SERVICEBUS_ENDPOINT</c>).
/// </summary>
public sealed class SampleApiHostTests : IDisposable
{
    private const string Variable = "MEDIAGEN_SERVICEBUS_ENDPOINT";
    private readonly DirectoryInfo _media = Directory.CreateTempSubdirectory("mediagen-servicebus-sample");
    private SampleHosts? _hosts;

    public void Dispose()
    {
        _hosts?.Dispose();
        _media.Delete(recursive: true);
    }

    [ServerFact(Variable)]
    public async Task SampleApi_OnServiceBusThroughTheEndpoint_RunsEveryJobToSucceededAndChargesOnce()
    {
        const int jobs = 60;
        var api = StartApi();
        using var http = new HttpClient { BaseAddress = await _hosts!.WaitUntilListeningAsync(api, TimeSpan.FromSeconds(60)), Timeout = TimeSpan.FromSeconds(30) };
        var startBalance = (await http.GetFromJsonAsync<JsonElement>("/api/v1/credits")).GetProperty("balance").GetInt64();

        var ids = await Task.WhenAll(Enumerable.Range(0, jobs).Select(async i =>
        {
            using var response = await http.PostAsJsonAsync("/api/v1/generations", new { prompt = $"a lighthouse on Service Bus, variation {i}", model = "procedural" });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        }));

        var finished = await http.WaitForJobsAsync(ids, j => j.IsFinished(), TimeSpan.FromSeconds(120));

        Assert.All(finished, job =>
        {
            Assert.Equal("succeeded", job.GetProperty("status").GetString());
            Assert.Single(job.GetProperty("outputs").EnumerateArray());
        });
        Assert.Equal(startBalance - jobs, (await http.GetFromJsonAsync<JsonElement>("/api/v1/credits")).GetProperty("balance").GetInt64());
        Assert.False(api.HasExited);
    }

    private System.Diagnostics.Process StartApi()
    {
        _hosts = new SampleHosts(new Dictionary<string, string>
        {
            ["MediaGen__Queue__Provider"] = "ServiceBus",
            ["MediaGen__ServiceBus__ConnectionString"] = ServerEnvironment.Require(Variable),
            ["MediaGen__ServiceBus__QueueName"] = "samples",
            ["MediaGen__Worker__Enabled"] = "true",
            ["MediaGen__Worker__Concurrency"] = "8",
            ["MediaGen__FileSystem__RootPath"] = _media.FullName,
            ["MediaGen__Generators__Procedural__SimulatedDuration"] = "00:00:00.200",
            ["MediaGen__Generators__Procedural__ProgressSteps"] = "2",
            ["MediaGen__Credits__InitialBalance"] = "1000",
            ["Logging__LogLevel__Default"] = "Warning",
        });
        return _hosts.Start("MediaGen.Samples.Api", output: line => Console.WriteLine("[api] " + line));
    }
}
