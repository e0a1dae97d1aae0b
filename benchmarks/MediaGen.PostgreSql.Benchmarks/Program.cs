using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using MediaGen;
using MediaGen.Benchmarks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

// MediaGen on PostgreSQL against Hangfire.PostgreSql on one server, one after the other at each concurrency: no-op jobs
// submitted by 16 concurrent callers while the worker runs them; the clock runs from the first submission to the last
// success. Reported per side: jobs/s, client and server CPU per job, and SQL statements per job (pg_stat_statements,
// top-level statements: one per round trip, a function call counting once) and write-ahead log records and bytes per job.
// Prints one JSON line per run. --sides mediagen or hangfire runs one side only; --stall-seconds (60) is how long a side
// may go without a job finishing before the run fails.
var connection = Arg("--connection") ?? Environment.GetEnvironmentVariable("MEDIAGEN_POSTGRES") ?? "Host=127.0.0.1;Username=mediagen;Database=postgres";
var jobs = int.Parse(Arg("--jobs") ?? "3000", CultureInfo.InvariantCulture);
var concurrencies = (Arg("--concurrency") ?? "1,16,64").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
var postmaster = Arg("--postmaster-pid") is { } pid ? int.Parse(pid, CultureInfo.InvariantCulture) : 0;
const int Submitters = 16;
const int WarmUp = 300;
var stallLimit = TimeSpan.FromSeconds(double.Parse(Arg("--stall-seconds") ?? "60", CultureInfo.InvariantCulture));
var runId = Guid.NewGuid().ToString("N")[..8];

await using var admin = NpgsqlDataSource.Create(connection);
await ExecuteAsync("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
GlobalConfiguration.Configuration
    .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
    .UseSimpleAssemblyNameTypeSerializer()
    .UseRecommendedSerializerSettings();
GlobalJobFilters.Filters.Add(HangfireCompletions.Filter);

var sides = (Arg("--sides") ?? "mediagen,hangfire").Split(',');
foreach (var concurrency in concurrencies)
{
    if (sides.Contains("mediagen"))
    {
        await MediaGenAsync(concurrency);
    }

    if (sides.Contains("hangfire"))
    {
        await HangfireAsync(concurrency);
    }
}

return;

async Task MediaGenAsync(int concurrency)
{
    using var succeeded = new SucceededCounter();
    using var host = Host.CreateDefaultBuilder()
        .ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Warning))
        .ConfigureServices(services => services.AddMediaGeneration()
            .UsePostgreSql(o =>
            {
                o.ConnectionString = connection;
                o.SchemaName = $"bench_{runId}_c{concurrency}";
            })
            .ConfigureCredits(o => o.InitialBalance = long.MaxValue / 2)
            .AddGenerator(new NoOpGenerator())
            .UseStorage(_ => new DiscardStorage())
            .AddWorker(o => o.Concurrency = concurrency))
        .Build();
    await host.StartAsync();
    var client = host.Services.GetRequiredService<IMediaGenerationClient>();
    async ValueTask Submit(int i) =>
        await client.SubmitAsync(new GenerationRequest { Prompt = "p" + i.ToString(CultureInfo.InvariantCulture), Model = NoOpGenerator.ModelId, OwnerId = "o" + (i % 16).ToString(CultureInfo.InvariantCulture) });

    await Parallel.ForAsync(0, WarmUp, new ParallelOptions { MaxDegreeOfParallelism = Submitters }, async (i, _) => await Submit(i));
    var schema = $"bench_{runId}_c{concurrency}";
    Func<Task<string>> state = () => DescribeAsync(
        $"SELECT 'jobs ' || status || ': ' || count(*) FROM \"{schema}\".jobs GROUP BY status UNION ALL " +
        $"SELECT 'messages ' || state || ': ' || count(*) FROM \"{schema}\".queue_messages GROUP BY state");
    await WaitAsync("mediagen", concurrency, succeeded.WhenAsync(WarmUp), () => succeeded.Count, WarmUp, state);
    var result = await MeasureAsync(
        "mediagen",
        concurrency,
        async () => await Parallel.ForAsync(0, jobs, new ParallelOptions { MaxDegreeOfParallelism = Submitters }, async (i, _) => await Submit(i)),
        () => succeeded.WhenAsync(WarmUp + jobs),
        () => succeeded.Count,
        WarmUp + jobs,
        state);
    Print("mediagen", concurrency, result);
    await host.StopAsync();
}

async Task HangfireAsync(int concurrency)
{
    var options = new PostgreSqlStorageOptions
    {
        SchemaName = $"hangfire_{runId}_c{concurrency}",
        PrepareSchemaIfNecessary = true,
        // Hangfire.PostgreSql's fastest fetch: LISTEN/NOTIFY wakes idle workers, with a short poll beside it.
        EnableLongPolling = true,
        QueuePollInterval = TimeSpan.FromMilliseconds(100),
    };
    var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(connection, options), options);
    var hangfire = new BackgroundJobClient(storage);
    HangfireCompletions.Reset();
    using var server = new BackgroundJobServer(new BackgroundJobServerOptions { WorkerCount = concurrency, ServerName = "bench-" + concurrency.ToString(CultureInfo.InvariantCulture) }, storage);
    Func<Task<string>> state = () => DescribeAsync(
        $"SELECT 'jobs ' || coalesce(statename, '(none)') || ': ' || count(*) FROM \"{options.SchemaName}\".job GROUP BY statename UNION ALL " +
        $"SELECT 'queue ' || CASE WHEN fetchedat IS NULL THEN 'waiting' ELSE 'fetched' END || ': ' || count(*) FROM \"{options.SchemaName}\".jobqueue GROUP BY fetchedat IS NULL UNION ALL " +
        $"SELECT 'locks: ' || count(*) FROM \"{options.SchemaName}\".lock");
    Parallel.For(0, WarmUp, new ParallelOptions { MaxDegreeOfParallelism = Submitters }, _ => hangfire.Enqueue(() => HangfireJobs.NoOp()));
    await WaitAsync("hangfire", concurrency, HangfireCompletions.WhenFinished(WarmUp), () => HangfireCompletions.Finished, WarmUp, state);
    var result = await MeasureAsync(
        "hangfire",
        concurrency,
        () => Task.Run(() => Parallel.For(0, jobs, new ParallelOptions { MaxDegreeOfParallelism = Submitters }, _ => hangfire.Enqueue(() => HangfireJobs.NoOp()))),
        () => HangfireCompletions.WhenFinished(WarmUp + jobs),
        () => HangfireCompletions.Finished,
        WarmUp + jobs,
        state);
    Print("hangfire", concurrency, result);
    server.SendStop();
}

async Task<Result> MeasureAsync(string impl, int concurrency, Func<Task> submit, Func<Task> finished, Func<long> progress, long total, Func<Task<string>> state)
{
    await ExecuteAsync("SELECT pg_stat_statements_reset()");
    var wal = await WalAsync();
    var serverCpu = ServerCpuSeconds();
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var started = Stopwatch.GetTimestamp();
    await submit();
    await WaitAsync(impl, concurrency, finished(), progress, total, state);
    var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
    var clientCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
    var serverCpuUsed = ServerCpuSeconds() - serverCpu;
    var walAfter = await WalAsync();
    var statements = new List<(long Calls, string Query)>();
    await using (var command = admin.CreateCommand("SELECT calls, query FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%pg_stat_wal%' ORDER BY calls DESC"))
    await using (var reader = await command.ExecuteReaderAsync())
    {
        while (await reader.ReadAsync())
        {
            statements.Add((reader.GetInt64(0), reader.GetString(1)));
        }
    }

    return new Result(seconds, clientCpu, serverCpuUsed, statements, walAfter.Records - wal.Records, walAfter.Bytes - wal.Bytes);
}

// The write-ahead log written so far: what the server wrote, a count that the machine's load does not blur.
async Task<(long Records, long Bytes)> WalAsync()
{
    await using var command = admin.CreateCommand("SELECT wal_records, wal_bytes::bigint FROM pg_stat_wal");
    await using var reader = await command.ExecuteReaderAsync();
    await reader.ReadAsync();
    return (reader.GetInt64(0), reader.GetInt64(1));
}

// Waits for a side's jobs to finish for as long as they keep finishing: a loaded machine only makes a run slower, while a
// minute without one job finishing is a stall, reported with what each side's tables and PostgreSQL's sessions show.
async Task WaitAsync(string impl, int concurrency, Task finished, Func<long> progress, long total, Func<Task<string>> state)
{
    var last = progress();
    while (await Task.WhenAny(finished, Task.Delay(stallLimit)) != finished)
    {
        var now = progress();
        if (now == last)
        {
            var sessions = await DescribeAsync(
                "SELECT session || ' x' || count(*) FROM (SELECT coalesce(state, '?') || coalesce(' ' || wait_event_type || '/' || wait_event, '') || ': ' || " +
                "left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS session FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()) s " +
                "GROUP BY session");
            throw new TimeoutException(
                $"{impl} at concurrency {concurrency}: {now} of {total} jobs finished, none in the last {stallLimit.TotalSeconds:0} s. " +
                $"Load: {File.ReadAllText("/proc/loadavg").Trim()}. Tables: {await state()}. Sessions: {sessions}.");
        }

        last = now;
    }

    await finished;
}

async Task<string> DescribeAsync(string sql)
{
    var lines = new List<string>();
    await using var command = admin.CreateCommand(sql);
    await using var reader = await command.ExecuteReaderAsync();
    while (await reader.ReadAsync())
    {
        lines.Add(reader.GetString(0));
    }

    return string.Join("; ", lines);
}

void Print(string impl, int concurrency, Result r)
{
    string Short(string query)
    {
        var flat = string.Join(' ', query.Split((char[])['\n', '\r', '\t', ' '], StringSplitOptions.RemoveEmptyEntries)).Replace("\"", "'", StringComparison.Ordinal);
        return flat.Length > 60 ? flat[..60] : flat;
    }

    var values = new Dictionary<string, object>
    {
        ["impl"] = impl,
        ["concurrency"] = concurrency,
        ["jobs"] = jobs,
        ["jobsPerSecond"] = Math.Round(jobs / r.Seconds),
        ["clientCpuUsPerJob"] = Math.Round(r.ClientCpuSeconds * 1e6 / jobs),
        ["serverCpuUsPerJob"] = postmaster > 0 ? Math.Round(r.ServerCpuSeconds * 1e6 / jobs) : -1,
        ["statementsPerJob"] = Math.Round((double)r.Statements.Where(s => !IsPoolReset(s.Query)).Sum(s => s.Calls) / jobs, 2),
        ["walRecordsPerJob"] = Math.Round((double)r.WalRecords / jobs, 1),
        ["walBytesPerJob"] = Math.Round((double)r.WalBytes / jobs),
        ["poolResetStatementsPerJob"] = Math.Round((double)r.Statements.Where(s => IsPoolReset(s.Query)).Sum(s => s.Calls) / jobs, 2),
        ["topStatements"] = string.Join(" | ", r.Statements.Where(s => !IsPoolReset(s.Query)).Take(6).Select(s => $"{(double)s.Calls / jobs:0.##}x {Short(s.Query)}")),
    };
    Console.WriteLine("{" + string.Join(",", values.Select(kv => $"\"{kv.Key}\":" + (kv.Value is string s ? $"\"{s}\"" : Convert.ToString(kv.Value, CultureInfo.InvariantCulture)))) + "}");
}

// What Npgsql sends, in the same round trip as the next command, when a pooled connection is reused: DISCARD ALL, or
// with prepared statements the commands that reset a session but keep them.
static bool IsPoolReset(string query) =>
    query is "DISCARD ALL" or "CLOSE ALL" or "UNLISTEN *" or "DISCARD SEQUENCES" or "DISCARD TEMP" or "RESET ALL" or "SET SESSION AUTHORIZATION DEFAULT" || query.StartsWith("SELECT pg_advisory_unlock_all()", StringComparison.Ordinal);

// The CPU time of the postmaster and every process it started (the backends serving both sides), from /proc.
double ServerCpuSeconds()
{
    if (postmaster == 0)
    {
        return 0;
    }

    double ticks = 0;
    foreach (var dir in Directory.EnumerateDirectories("/proc"))
    {
        try
        {
            var stat = File.ReadAllText(Path.Combine(dir, "stat"));
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var id = int.Parse(Path.GetFileName(dir), CultureInfo.InvariantCulture);
            if (id == postmaster || int.Parse(fields[1], CultureInfo.InvariantCulture) == postmaster)
            {
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            // Not a process, or it exited meanwhile.
        }
    }

    return ticks / 100.0;
}

async Task ExecuteAsync(string sql)
{
    await using var command = admin.CreateCommand(sql);
    await command.ExecuteNonQueryAsync();
}

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

internal sealed record Result(double Seconds, double ClientCpuSeconds, double ServerCpuSeconds, List<(long Calls, string Query)> Statements, long WalRecords, long WalBytes);

/// <summary>Counts MediaGen's succeeded jobs in this process from its <c>mediagen.job.succeeded</c> counter, without a query.</summary>
internal sealed class SucceededCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _count;
    private long _target = long.MaxValue;
    private TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SucceededCounter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "MediaGen" && instrument.Name == "mediagen.job.succeeded")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
        {
            if (Interlocked.Add(ref _count, value) >= Volatile.Read(ref _target))
            {
                Volatile.Read(ref _reached).TrySetResult();
            }
        });
        _listener.Start();
    }

    /// <summary>How many jobs succeeded so far.</summary>
    public long Count => Volatile.Read(ref _count);

    public Task WhenAsync(long total)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _reached, reached);
        Volatile.Write(ref _target, total);
        if (Volatile.Read(ref _count) >= total)
        {
            reached.TrySetResult();
        }

        return reached.Task;
    }

    public void Dispose() => _listener.Dispose();
}
