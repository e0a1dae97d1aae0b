using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;

namespace MediaGen.PostgreSql.Tests;

/// <summary>
/// The sample API host and sample worker hosts as separate processes on PostgreSQL alone (queue, store, ledger and events;
/// no other server), configured only through their environment, the way a deployment runs them.
/// </summary>
public sealed class MultiProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(3);
    private readonly DirectoryInfo _media = Directory.CreateTempSubdirectory("mediagen-pg-multiprocess");
    private readonly string _schema = PostgresTestServer.NewSchema();
    private readonly ConcurrentQueue<string> _hostOutput = new();
    private SampleHosts? _hosts;
    private string? _connectionString;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _hosts?.Dispose();
        // What the hosts logged at Warning and above, without stack frames, to tell a failure's cause.
        foreach (var line in _hostOutput.Where(l => !l.Contains("   at ", StringComparison.Ordinal)).TakeLast(60))
        {
            output.WriteLine(line);
        }

        _media.Delete(recursive: true);
        if (_connectionString is null)
        {
            await PostgresTestServer.DropSchemaAsync(_schema);
        }
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task ApiAndTwoWorkers_OneWorkerKilledMidGeneration_EveryJobSucceedsOnceAndIsChargedOnce()
    {
        const int Jobs = 400;
        var api = Start("MediaGen.Samples.Api", new() { ["MediaGen__Worker__Enabled"] = "false" });
        var doomed = Start("MediaGen.Samples.Worker", []);
        var survivor = Start("MediaGen.Samples.Worker", []);
        using var http = new HttpClient { BaseAddress = await _hosts!.WaitUntilListeningAsync(api, TimeSpan.FromSeconds(60)), Timeout = TimeSpan.FromSeconds(30) };
        var startBalance = await SampleHosts.BalanceAsync(http);

        var ids = new List<string>(Jobs);
        for (var start = 0; start < Jobs; start += 50)
        {
            ids.AddRange(await Task.WhenAll(Enumerable.Range(start, 50).Select(i => SubmitAsync(http, $"a lighthouse, variation {i}"))));
        }

        // Kill the first worker once it is visibly generating (some jobs done, others running).
        // "Some jobs done and some running now" is a passing state across hundreds of jobs, true only while both hold:
        // following every job's events at once to catch it overloads the machine and still misses it, so the job lists
        // are polled for it.
        await SampleHosts.WaitUntilAsync(async () => await SampleHosts.CountAsync(http, "succeeded") >= 40 && await SampleHosts.CountAsync(http, "processing") > 0, TimeSpan.FromSeconds(60), "the workers to be busy");
        doomed.Kill();
        await doomed.WaitForExitAsync();
        var killedAt = Stopwatch.GetTimestamp();

        await http.WaitForJobsWhileProgressingAsync(ids, j => j.Status() == "succeeded", TimeSpan.FromSeconds(60));
        output.WriteLine($"Every job succeeded {Stopwatch.GetElapsedTime(killedAt).TotalSeconds:0.0} s after the kill.");

        var jobs = await Task.WhenAll(ids.Select(id => http.GetFromJsonAsync<JsonElement>($"/api/v1/generations/{id}")));
        Assert.All(jobs, job =>
        {
            Assert.Equal("succeeded", job.GetProperty("status").GetString());
            Assert.Single(job.GetProperty("outputs").EnumerateArray());
            Assert.Equal((1L, 0L), (job.GetProperty("creditsCharged").GetInt64(), job.GetProperty("creditsRefunded").GetInt64()));
        });

        // The killed worker's jobs were taken over by the other one after their leases expired.
        Assert.Contains(jobs, job => job.GetProperty("attempt").GetInt32() >= 2);
        Assert.Equal(0, await SampleHosts.CountAsync(http, "pending") + await SampleHosts.CountAsync(http, "processing") + await SampleHosts.CountAsync(http, "failed"));
        Assert.Equal(startBalance - Jobs, await SampleHosts.BalanceAsync(http));
        Assert.Equal(Jobs, Directory.GetFiles(_media.FullName, "*.png", SearchOption.AllDirectories).Length);
        Assert.False(api.HasExited);
        Assert.False(survivor.HasExited);
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task ApiAndWorker_PostgreSqlKilledAndRestartedUnderLoad_LoseNoAcknowledgedSubmission()
    {
        await using var server = new PostgresServerProcess();
        await server.StartAsync();
        _connectionString = server.ConnectionString;
        var api = Start("MediaGen.Samples.Api", new() { ["MediaGen__Worker__Enabled"] = "false" });
        var worker = Start("MediaGen.Samples.Worker", []);
        using var http = new HttpClient { BaseAddress = await _hosts!.WaitUntilListeningAsync(api, TimeSpan.FromSeconds(60)), Timeout = TimeSpan.FromSeconds(30) };
        var startBalance = await SampleHosts.BalanceAsync(http);

        // Four clients submit without pause while PostgreSQL is killed and restarted. A 202 is an acknowledged submission;
        // while the database is down the API answers 503 and nothing else. The worker cannot keep up with them, so what
        // they may submit before the kill is capped: without a cap, a loaded machine (a slow worker, a slow first job)
        // let them queue thousands of jobs, minutes to drain. A client that reaches the cap goes on once the kill is done.
        const int AcceptedBeforeKillCap = 400;
        var accepted = new ConcurrentQueue<string>();
        var refused = 0;
        var answered = new ChangeSignal();
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        async Task SubmitLoopAsync(int client)
        {
            for (var i = 0; i < 2_000 && !stop.IsCancellationRequested; i++)
            {
                if (accepted.Count >= AcceptedBeforeKillCap)
                {
                    await killed.Task;
                }

                using var response = await http.PostAsJsonAsync("/api/v1/generations", new { prompt = $"a harbour, client {client}, variation {i}", model = "procedural" });
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    accepted.Enqueue((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!);
                    answered.Pulse();
                }
                else
                {
                    Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                    Interlocked.Increment(ref refused);
                    answered.Pulse();

                    // Pacing, not a wait: four clients would otherwise spin on the refusals while PostgreSQL is down.
                    await Task.Delay(20);
                }
            }
        }

        var clients = Enumerable.Range(0, 4).Select(SubmitLoopAsync).ToArray();
        await answered.WaitUntilAsync(() => accepted.Count >= 100, "100 submissions to be acknowledged", TimeSpan.FromSeconds(60));
        await http.WaitForJobsAsync(accepted.Take(10), j => j.Status() == "succeeded", TimeSpan.FromSeconds(60));
        await server.KillAsync();
        var acceptedBeforeKill = accepted.Count;
        killed.SetResult();
        await answered.WaitUntilAsync(() => Volatile.Read(ref refused) >= 8, "submissions to be refused while PostgreSQL is down", TimeSpan.FromSeconds(30));
        await server.StartAsync();

        // Neither host is restarted: both reconnect by themselves, and submissions are acknowledged again.
        await answered.WaitUntilAsync(() => accepted.Count >= acceptedBeforeKill + 100, "submissions to be acknowledged again", TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await Task.WhenAll(clients);

        // The backlog is whatever four clients submitted while the worker ran 16 jobs at a time (hundreds of jobs), and how
        // long it takes to drain depends on the machine's load: the wait fails when jobs stop finishing, not after a total.
        var ids = accepted.ToArray();
        await http.WaitForJobsWhileProgressingAsync(ids, j => j.IsFinished(), TimeSpan.FromSeconds(60));

        // A submission refused while its commit's answer was lost may have been stored with an id no client saw, so no
        // events can be followed for it: check the lists, again only until they agree.
        await SampleHosts.WaitUntilAsync(async () => await SampleHosts.CountAsync(http, "pending") + await SampleHosts.CountAsync(http, "processing") == 0, TimeSpan.FromSeconds(60), "every job to end");
        var jobs = await Task.WhenAll(ids.Select(id => http.GetFromJsonAsync<JsonElement>($"/api/v1/generations/{id}")));
        Assert.All(jobs, job =>
        {
            Assert.Equal("succeeded", job.GetProperty("status").GetString());
            Assert.Single(job.GetProperty("outputs").EnumerateArray());
        });

        // A submission refused while its commit's answer was lost may still have been stored: such a job is charged and runs
        // like any other. Every stored job succeeded and was charged once.
        var succeeded = await SampleHosts.CountAsync(http, "succeeded");
        output.WriteLine($"{ids.Length} submissions acknowledged ({acceptedBeforeKill} before the kill), {refused} refused, {succeeded} jobs stored and succeeded.");
        Assert.InRange(succeeded, ids.Length, ids.Length + 4);
        Assert.Equal(0, await SampleHosts.CountAsync(http, "failed"));
        Assert.Equal(startBalance - succeeded, await SampleHosts.BalanceAsync(http));
        Assert.False(api.HasExited);
        Assert.False(worker.HasExited);
    }

    private static async Task<string> SubmitAsync(HttpClient http, string prompt)
    {
        using var response = await http.PostAsJsonAsync("/api/v1/generations", new { prompt, model = "procedural" });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    private Process Start(string project, Dictionary<string, string> environment)
    {
        _hosts ??= new SampleHosts(new Dictionary<string, string>
        {
            ["MediaGen__Queue__Provider"] = "PostgreSql",
            ["MediaGen__PostgreSql__ConnectionString"] = _connectionString ?? PostgresTestServer.ConnectionString,
            ["MediaGen__PostgreSql__SchemaName"] = _schema,
            ["MediaGen__PostgreSql__LeaseDuration"] = Lease.ToString("c", CultureInfo.InvariantCulture),
            ["MediaGen__FileSystem__RootPath"] = _media.FullName,
            ["MediaGen__Generators__Procedural__SimulatedDuration"] = "00:00:00.300",
            ["MediaGen__Generators__Procedural__ProgressSteps"] = "3",
            ["MediaGen__Worker__Concurrency"] = "16",
            ["MediaGen__Credits__InitialBalance"] = "5000",
            ["Logging__LogLevel__Default"] = "Warning",
        });
        return _hosts.Start(project, environment, line =>
        {
            if (line is not null)
            {
                _hostOutput.Enqueue($"{project}: {line}");
            }
        });
    }
}
