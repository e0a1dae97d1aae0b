using System.Diagnostics;
using System.Globalization;
using MediaGen;
using MediaGen.Benchmarks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StackExchange.Redis.Profiling;

// MediaGen's Redis queue under the same workload as benchmarks/bullmq/bench.js: no-op jobs, enqueue -> receive ->
// complete through the public IJobQueue API (and optionally the whole pipeline, submit -> Succeeded). Prints one
// JSON line per scenario.
var redis = Arg("--redis") ?? Environment.GetEnvironmentVariable("MEDIAGEN_REDIS") ?? "127.0.0.1:6379";
var jobs = int.Parse(Arg("--jobs") ?? "20000", CultureInfo.InvariantCulture);
var concurrencies = (Arg("--concurrency") ?? "1,16,256").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
var rate = int.Parse(Arg("--rate") ?? "1000", CultureInfo.InvariantCulture);
var latencySeconds = int.Parse(Arg("--latency-seconds") ?? "10", CultureInfo.InvariantCulture);
var pipelineJobs = int.Parse(Arg("--pipeline-jobs") ?? "0", CultureInfo.InvariantCulture);

// --pipeline-concurrency N: the worker's concurrency in the full pipeline (16 by default). At 16 the pipeline is bound by
// each job's round trips more than by CPU; a higher figure shows what Redis's CPU per job allows.
var pipelineConcurrency = int.Parse(Arg("--pipeline-concurrency") ?? "16", CultureInfo.InvariantCulture);
var retentionRunSeconds = int.Parse(Arg("--retention-run-seconds") ?? "0", CultureInfo.InvariantCulture);
var retentionRate = int.Parse(Arg("--retention-rate") ?? "500", CultureInfo.InvariantCulture);

// --pipeline-storage discard: the pipeline's outputs are read and dropped instead of written as files, which isolates
// the Redis pipeline from the file system's cost (about a fifth of the client CPU per job on tmpfs).
var discardOutputs = Arg("--pipeline-storage") == "discard";

// --alloc-types N: the pipeline run also prints the N types that most of its allocated bytes per job are made of
// (sampled from the runtime's allocation ticks, so the figures are estimates to within about 100 KB per type).
var allocTypes = int.Parse(Arg("--alloc-types") ?? "0", CultureInfo.InvariantCulture);
using var allocations = allocTypes > 0 ? new AllocationSampler() : null;

await using var admin = await ConnectionMultiplexer.ConnectAsync(redis + ",allowAdmin=true");
var runId = Guid.NewGuid().ToString("N")[..8];

// --thread-pool-socket-manager: every connection completes Redis's answers on .NET's thread pool
// (RedisQueueOptions.UseThreadPoolSocketManager) instead of StackExchange.Redis's dedicated threads, the default
// (which --default-socket-manager names, for scripts that always pass one of the two).
var threadPoolSocketManager = args.Contains("--thread-pool-socket-manager");

// --pipeline-only: skips the queue-only scenarios (for measuring the full pipeline's per-job costs alone).
var pipelineOnly = args.Contains("--pipeline-only");

// Warm-up: JIT, script cache, connection.
if (!pipelineOnly)
{
    await using (var warm = await QueueAsync($"bench-{runId}-warm", 1000))
    {
        await ThroughputAsync(warm.Queue, 2000, 16);
    }

    foreach (var concurrency in concurrencies)
    {
        await using var q = await QueueAsync($"bench-{runId}-c{concurrency}", jobs);
        var serverCpu = await ServerCpuAsync();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var seconds = await ThroughputAsync(q.Queue, jobs, concurrency);
        var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
        var serverCpuMs = (await ServerCpuAsync() - serverCpu) * 1000;
        Print(new()
        {
            ["impl"] = "mediagen",
            ["scenario"] = "throughput",
            ["concurrency"] = concurrency,
            ["jobs"] = jobs,
            ["jobsPerSecond"] = Math.Round(jobs / seconds),
            ["clientCpuUsPerJob"] = Math.Round(cpuMs * 1000 / jobs, 1),
            ["redisCpuUsPerJob"] = Math.Round(serverCpuMs * 1000 / jobs, 1),
            ["socketManager"] = threadPoolSocketManager ? "thread pool" : "dedicated",
        });
    }

    await using (var q = await QueueAsync($"bench-{runId}-latency", rate * latencySeconds))
    {
        var (p50, p99, sent) = await LatencyAsync(q.Queue, rate, latencySeconds, 16);
        Print(new() { ["impl"] = "mediagen", ["scenario"] = "latency", ["rate"] = rate, ["jobs"] = sent, ["p50Ms"] = p50, ["p99Ms"] = p99 });
    }
}

if (pipelineJobs > 0)
{
    await PipelineAsync(pipelineJobs, pipelineConcurrency);
}

if (retentionRunSeconds > 0)
{
    await RetentionAsync(retentionRunSeconds, retentionRate, TimeSpan.FromSeconds(2));
}

return;

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static void Print(Dictionary<string, object> values) =>
    Console.WriteLine("{" + string.Join(",", values.Select(kv => $"\"{kv.Key}\":" + (kv.Value is string s ? $"\"{s}\"" : Convert.ToString(kv.Value, CultureInfo.InvariantCulture)))) + "}");

async Task<double> ServerCpuAsync()
{
    var info = (await admin.GetServers()[0].InfoAsync("cpu")).SelectMany(g => g).ToDictionary(kv => kv.Key, kv => kv.Value);
    return double.Parse(info["used_cpu_sys"], CultureInfo.InvariantCulture) + double.Parse(info["used_cpu_user"], CultureInfo.InvariantCulture);
}

async Task<BenchQueue> QueueAsync(string name, int expected)
{
    var services = new ServiceCollection();
    services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
    services.AddMediaGeneration().UseRedisQueue(o =>
    {
        o.Configuration = redis;
        o.KeyPrefix = name;
        o.UseThreadPoolSocketManager = threadPoolSocketManager;
    });
    var provider = services.BuildServiceProvider();
    return new BenchQueue(provider, provider.GetRequiredService<IJobQueue>());
}

// Producer and consumer at once, as in the BullMQ script: the clock runs from the first enqueue to the last completion.
// The consumer is shaped like MediaGen's worker: one loop receives as many messages as it has free slots (one round
// trip for many), and each message runs on its own task that completes the lease and frees the slot.
static async Task<double> ThroughputAsync(IJobQueue queue, int count, int concurrency)
{
    var done = 0;
    var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    using var stop = new CancellationTokenSource();
    var started = Stopwatch.GetTimestamp();
    var consumer = ConsumeAsync(queue, concurrency, _ =>
    {
        if (Interlocked.Increment(ref done) == count)
        {
            finished.TrySetResult();
        }
    }, stop.Token);

    await ProduceAsync(queue, count);
    await finished.Task;
    var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
    stop.Cancel();
    await consumer;
    return seconds;
}

static async Task ProduceAsync(IJobQueue queue, int count)
{
    // Up to 1,000 enqueues in flight at once (they pipeline on the one connection), like addBulk chunks of 1,000.
    const int Window = 1000;
    for (var start = 0; start < count; start += Window)
    {
        var batch = new List<Task>(Window);
        for (var i = start; i < Math.Min(count, start + Window); i++)
        {
            batch.Add(queue.EnqueueAsync(new QueueMessage("job-" + i.ToString(CultureInfo.InvariantCulture))).AsTask());
        }

        await Task.WhenAll(batch);
    }
}

static async Task ConsumeAsync(IJobQueue queue, int concurrency, Action<IQueueLease> handled, CancellationToken stop, Action<IQueueLease>? started = null)
{
    using var slots = new SemaphoreSlim(concurrency, concurrency);
    while (!stop.IsCancellationRequested)
    {
        try
        {
            await slots.WaitAsync(stop);
        }
        catch (OperationCanceledException)
        {
            break;
        }

        var free = 1;
        while (free < concurrency && slots.Wait(0))
        {
            free++;
        }

        IReadOnlyList<IQueueLease> leases;
        try
        {
            leases = await queue.ReceiveAsync(free, TimeSpan.FromSeconds(1), stop);
        }
        catch (OperationCanceledException)
        {
            break;
        }

        if (free > leases.Count)
        {
            slots.Release(free - leases.Count);
        }

        foreach (var lease in leases)
        {
            started?.Invoke(lease);
            _ = Task.Run(async () =>
            {
                try
                {
                    await lease.CompleteAsync();
                    handled(lease);
                }
                finally
                {
                    slots.Release();
                }
            }, CancellationToken.None);
        }
    }
}

// Enqueue at a steady rate while a consumer with 16 slots runs; enqueue-to-start is the time from the enqueue call to
// the moment the consumer holds the lease.
static async Task<(double P50, double P99, int Sent)> LatencyAsync(IJobQueue queue, int rate, int seconds, int concurrency)
{
    var total = rate * seconds;
    var sentAt = new long[total];
    var latencies = new double[total];
    var received = 0;
    var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    using var stop = new CancellationTokenSource();
    var consumer = ConsumeAsync(
        queue,
        concurrency,
        _ =>
        {
            if (Interlocked.Increment(ref received) == total)
            {
                finished.TrySetResult();
            }
        },
        stop.Token,
        started: lease =>
        {
            var i = int.Parse(lease.Message.JobId.AsSpan(4), CultureInfo.InvariantCulture);
            latencies[i] = Stopwatch.GetElapsedTime(sentAt[i]).TotalMilliseconds;
        });

    // Paced by a 1 ms timer (as bench.js is): each tick sends every message whose time has come, without spinning.
    var start = Stopwatch.GetTimestamp();
    var inflight = new List<Task>(total);
    using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(1));
    var next = 0;
    while (next < total)
    {
        var due = (int)Math.Min(total, Stopwatch.GetElapsedTime(start).TotalSeconds * rate + 1);
        for (; next < due; next++)
        {
            sentAt[next] = Stopwatch.GetTimestamp();
            inflight.Add(queue.EnqueueAsync(new QueueMessage("lat-" + next.ToString(CultureInfo.InvariantCulture))).AsTask());
        }

        await tick.WaitForNextTickAsync();
    }

    await Task.WhenAll(inflight);
    await finished.Task.WaitAsync(TimeSpan.FromMinutes(2));
    stop.Cancel();
    await consumer;
    Array.Sort(latencies);
    return (Math.Round(latencies[total / 2], 2), Math.Round(latencies[(int)(total * 0.99)], 2), total);
}

// The whole pipeline: submissions through IMediaGenerationClient (job store, credits, queue, event) and MediaGen's
// worker (lease, status transitions, generator, storage, completion) with a generator that returns one tiny output.
// Redis commands per job are counted twice: as sent by MediaGen's connection (StackExchange.Redis's profiler: round-trip
// commands, a script call counting once), and from INFO commandstats (every command the server ran, inside scripts too).
async Task PipelineAsync(int count, int concurrency)
{
    var prefix = $"bench-{runId}-pipeline";
    await using var connection = await ConnectAsMediaGenAsync();
    ProfilingSession? profiling = null;
    connection.RegisterProfiler(() => profiling);
    await using var pipeline = await PipelineHostAsync(connection, prefix, concurrency, retention: null);
    var client = pipeline.Services.GetRequiredService<IMediaGenerationClient>();
    var store = pipeline.Services.GetRequiredService<IJobStore>();

    // Warm-up (script cache, thread pool, JIT), in rounds of 1,000 jobs of another owner, submitted as the measured run
    // submits, until tiered compilation has settled: at least 3 rounds, then until a round compiles fewer than 20
    // methods, at most 30 rounds. Each round ends with 300 ms idle: the runtime starts counting calls for tier-1
    // promotion only once no new method has been compiled for 100 ms (TC_CallCountingDelayMs), which a busy round never
    // allows, so without the pause up to the whole promotion (about 4,800 methods, 1.7 s of JIT) landed in the measured window.
    for (var round = 0; round < 30; round++)
    {
        var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
        await SubmitInChunksAsync(client, 0, 1000, "warm-up");
        await WaitForEmptyQueueAsync(prefix);
        await Task.Delay(300);
        if (round >= 2 && System.Runtime.JitInfo.GetCompiledMethodCount() - compiled < 20)
        {
            break;
        }
    }

    var gcCounts = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
    var gcPause = GC.GetTotalPauseDuration();
    var jitMethods = System.Runtime.JitInfo.GetCompiledMethodCount();
    var jitTime = System.Runtime.JitInfo.GetCompilationTime();
    var session = new ProfilingSession();
    var serverCalls = await ServerCallsAsync();
    var serverCpu = await ServerCpuAsync();
    var allocated = GC.GetTotalAllocatedBytes(precise: true);
    var workItems = ThreadPool.CompletedWorkItemCount;
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var started = Stopwatch.GetTimestamp();
    profiling = session;
    if (allocations is not null)
    {
        allocations.Recording = true;
    }

    await SubmitInChunksAsync(client, 0, count, "bench");

    await WaitForEmptyQueueAsync(prefix);
    profiling = null;
    if (allocations is not null)
    {
        allocations.Recording = false;
    }

    var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
    var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
    var allocatedBytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;
    var threadPoolItems = ThreadPool.CompletedWorkItemCount - workItems;
    var serverCpuMs = (await ServerCpuAsync() - serverCpu) * 1000;
    var calls = await ServerCallsAsync() - serverCalls;
    var gcInRun = $"{GC.CollectionCount(0) - gcCounts.Item1}/{GC.CollectionCount(1) - gcCounts.Item2}/{GC.CollectionCount(2) - gcCounts.Item3}";
    var gcPauseMsInRun = (GC.GetTotalPauseDuration() - gcPause).TotalMilliseconds;
    var jitMethodsInRun = System.Runtime.JitInfo.GetCompiledMethodCount() - jitMethods;
    var jitMsInRun = (System.Runtime.JitInfo.GetCompilationTime() - jitTime).TotalMilliseconds;
    var sent = session.FinishProfiling().GroupBy(c => c.Command).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
    var succeeded = 0;
    string? cursor = null;
    do
    {
        var page = await store.ListAsync(new JobQuery { OwnerId = "bench", Status = JobStatus.Succeeded, Limit = JobQuery.MaxLimit, Cursor = cursor });
        succeeded += page.Items.Count;
        cursor = page.NextCursor;
    }
    while (cursor is not null);

    var values = new Dictionary<string, object>
    {
        ["impl"] = "mediagen",
        ["scenario"] = "pipeline",
        ["storage"] = discardOutputs ? "discard" : "files",
        ["concurrency"] = concurrency,
        ["jobs"] = count,
        ["succeeded"] = succeeded,
        ["jobsPerSecond"] = Math.Round(count / seconds),
        ["clientCpuUsPerJob"] = Math.Round(cpuMs * 1000 / count, 1),
        ["clientBytesAllocatedPerJob"] = Math.Round((double)allocatedBytes / count),
        ["redisCpuUsPerJob"] = Math.Round(serverCpuMs * 1000 / count, 1),
        ["threadPoolWorkItemsPerJob"] = Math.Round((double)threadPoolItems / count, 1),
        ["redisCommandsPerJob"] = Math.Round((double)sent.Values.Sum() / count, 2),
        ["redisCommandsPerJobByName"] = string.Join(" ", sent.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key}={(double)kv.Value / count:0.##}")),
        ["redisCallsPerJobIncludingScripts"] = Math.Round(calls / count, 1),
        ["threadPoolSpinLimit"] = Environment.GetEnvironmentVariable("DOTNET_ThreadPool_UnfairSemaphoreSpinLimit") ?? "default",
        ["socketManager"] = threadPoolSocketManager ? "thread pool" : "dedicated",
        ["gcCollections012"] = gcInRun,
        ["gcPauseMs"] = Math.Round(gcPauseMsInRun),
        ["jitMethodsCompiledInRun"] = jitMethodsInRun,
        ["jitMsInRun"] = Math.Round(jitMsInRun),
    };
    if (allocations is not null)
    {
        values["allocatedBytesPerJobByType"] = allocations.Top(allocTypes, count);
    }

    Print(values);
}

// Bounded state: jobs flow through the pipeline at a steady rate with a short finished-job retention. Once the first jobs
// expire, what Redis holds should stop growing: used_memory and the key count stay flat while jobs keep finishing.
// Prints one sample per second, and the bytes and keys each retained (finished, not yet removed) job costs.
async Task RetentionAsync(int seconds, int rate, TimeSpan retention)
{
    var prefix = $"bench-{runId}-retention";
    await using var connection = await ConnectAsMediaGenAsync();
    await using var pipeline = await PipelineHostAsync(connection, prefix, 16, retention);
    var client = pipeline.Services.GetRequiredService<IMediaGenerationClient>();
    var server = admin.GetServers()[0];
    var db = admin.GetDatabase();
    var expiryKey = "{" + prefix + "}:expiry";
    var baseMemory = await UsedMemoryAsync();
    var baseKeys = await server.DatabaseSizeAsync();
    var samples = new List<(long Memory, long Keys, long Retained)>();
    var start = Stopwatch.GetTimestamp();
    var sent = 0;
    var nextSample = 1;
    var submissions = new List<Task>();
    using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
    while (Stopwatch.GetElapsedTime(start).TotalSeconds < seconds)
    {
        var due = (int)(Stopwatch.GetElapsedTime(start).TotalSeconds * rate);
        for (; sent < due; sent++)
        {
            submissions.Add(client.SubmitAsync(new GenerationRequest { Prompt = "p", Model = NoOpGenerator.ModelId, OwnerId = "bench", IdempotencyKey = "k" + sent.ToString(CultureInfo.InvariantCulture) }).AsTask());
        }

        if (Stopwatch.GetElapsedTime(start).TotalSeconds >= nextSample)
        {
            nextSample++;
            samples.Add((await UsedMemoryAsync() - baseMemory, await server.DatabaseSizeAsync() - baseKeys, await db.SortedSetLengthAsync(expiryKey)));
        }

        await tick.WaitForNextTickAsync();
    }

    await Task.WhenAll(submissions);
    await WaitForEmptyQueueAsync(prefix);
    var steady = samples.Skip(samples.Count / 2).ToList();
    var sample = (await db.SortedSetRangeByRankAsync(expiryKey, 0, 0)).Select(v => v.ToString()).FirstOrDefault();
    // SAMPLES 0 counts every element: by default MEMORY USAGE scales up five sampled fields of a hashtable-encoded hash, which
    // overstated a job hash that held the job's JSON (2,044 bytes printed, 1,552 exact).
    var jobBytes = sample is null ? RedisResult.Create(RedisValue.Null) : await db.ExecuteAsync("MEMORY", "USAGE", "{" + prefix + "}:job:" + sample, "SAMPLES", "0");
    var jobJsonBytes = sample is null ? RedisResult.Create(RedisValue.Null) : await db.ExecuteAsync("MEMORY", "USAGE", "{" + prefix + "}:data:" + sample, "SAMPLES", "0");
    var reservationBytes = sample is null ? RedisResult.Create(RedisValue.Null) : await db.ExecuteAsync("MEMORY", "USAGE", "{" + prefix + "}:credit:res:5:bench:" + sample, "SAMPLES", "0");
    var historyBytes = sample is null ? RedisResult.Create(RedisValue.Null) : await db.ExecuteAsync("MEMORY", "USAGE", "{" + prefix + "}:events:" + sample, "SAMPLES", "0");
    Print(new()
    {
        ["impl"] = "mediagen",
        ["scenario"] = "retention",
        ["retentionSeconds"] = retention.TotalSeconds,
        ["rate"] = rate,
        ["jobs"] = sent,
        ["usedMemoryDeltaBytes"] = string.Join(" ", samples.Select(s => s.Memory)),
        ["keysDelta"] = string.Join(" ", samples.Select(s => s.Keys)),
        ["retainedJobs"] = string.Join(" ", samples.Select(s => s.Retained)),
        ["bytesPerRetainedJob"] = Math.Round(steady.Average(s => (double)s.Memory / Math.Max(1, s.Retained))),
        ["keysPerRetainedJob"] = Math.Round(steady.Average(s => (double)s.Keys / Math.Max(1, s.Retained)), 2),
        ["jobHashBytes"] = jobBytes.IsNull ? 0 : (long)jobBytes,
        ["jobJsonBytes"] = jobJsonBytes.IsNull ? 0 : (long)jobJsonBytes,
        ["reservationBytes"] = reservationBytes.IsNull ? 0 : (long)reservationBytes,
        ["eventHistoryBytes"] = historyBytes.IsNull ? 0 : (long)historyBytes,
    });
}

async Task<PipelineHost> PipelineHostAsync(IConnectionMultiplexer connection, string prefix, int concurrency, TimeSpan? retention)
{
    // Outputs go to tmpfs where there is one: on a shared ext4 disk, creating a file per job costs more CPU in the kernel's
    // inode search than the whole Redis pipeline, and varies with what else churns that disk.
    var storage = Directory.Exists("/dev/shm")
        ? Directory.CreateDirectory(Path.Combine("/dev/shm", "mediagen-bench-" + Guid.NewGuid().ToString("N")))
        : Directory.CreateTempSubdirectory("mediagen-bench");
    var host = Host.CreateDefaultBuilder()
        .ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Warning))
        .ConfigureServices(services =>
        {
            var builder = services.AddMediaGeneration()
                .UseRedisQueue(connection, o =>
                {
                    o.KeyPrefix = prefix;
                    o.FinishedJobRetention = retention ?? o.FinishedJobRetention;
                })
                .ConfigureCredits(o => o.InitialBalance = long.MaxValue / 2)
                .AddGenerator(new NoOpGenerator())
                .AddWorker(o => o.Concurrency = concurrency);
            _ = discardOutputs
                ? builder.UseStorage(_ => new DiscardStorage())
                : builder.UseFileSystemStorage(o => o.RootPath = storage.FullName);
        })
        .Build();
    await host.StartAsync();
    return new PipelineHost(host, storage);
}

// Submits jobs start..start+count-1 of an owner, 200 at a time.
static async Task SubmitInChunksAsync(IMediaGenerationClient client, int start, int count, string owner)
{
    for (var first = start; first < start + count; first += 200)
    {
        await Task.WhenAll(Enumerable.Range(first, Math.Min(200, start + count - first)).Select(i =>
            client.SubmitAsync(new GenerationRequest { Prompt = "p" + i.ToString(CultureInfo.InvariantCulture), Model = NoOpGenerator.ModelId, OwnerId = owner }).AsTask()));
    }
}

// The pipeline's connection is the benchmark's own (its profiler counts the commands sent), set up as the connection
// MediaGen creates from a configuration string is.
async Task<ConnectionMultiplexer> ConnectAsMediaGenAsync()
{
    var options = ConfigurationOptions.Parse(redis);
    if (threadPoolSocketManager)
    {
        options.SocketManager = SocketManager.ThreadPool;
    }

    return await ConnectionMultiplexer.ConnectAsync(options);
}

// Polls the queue's sets over the admin connection, so the polling is not counted as the pipeline's commands.
async Task WaitForEmptyQueueAsync(string prefix)
{
    var db = admin.GetDatabase();
    var queue = "{" + prefix + "}:q:jobs:";
    while (await db.SortedSetLengthAsync(queue + "ready") + await db.SortedSetLengthAsync(queue + "delayed") + await db.SortedSetLengthAsync(queue + "leased") > 0)
    {
        await Task.Delay(20);
    }
}

async Task<double> ServerCallsAsync()
{
    var info = (await admin.GetServers()[0].InfoAsync("commandstats")).SelectMany(g => g);
    return info.Sum(kv => double.Parse(kv.Value.Split(',')[0]["calls=".Length..], CultureInfo.InvariantCulture));
}

async Task<long> UsedMemoryAsync()
{
    var info = (await admin.GetServers()[0].InfoAsync("memory")).SelectMany(g => g).ToDictionary(kv => kv.Key, kv => kv.Value);
    return long.Parse(info["used_memory"], CultureInfo.InvariantCulture);
}

internal sealed class PipelineHost(IHost host, DirectoryInfo storage) : IAsyncDisposable
{
    public IServiceProvider Services => host.Services;

    public async ValueTask DisposeAsync()
    {
        await host.StopAsync();
        host.Dispose();
        storage.Delete(recursive: true);
    }
}

internal sealed class BenchQueue(ServiceProvider provider, IJobQueue queue) : IAsyncDisposable
{
    public IJobQueue Queue { get; } = queue;

    public ValueTask DisposeAsync() => provider.DisposeAsync();
}

/// <summary>
/// Samples the runtime's allocation ticks (one event per ~100 KB allocated, naming the type of the object that crossed
/// the mark) while enabled, so a run can say which types its bytes per job are made of (--alloc-types N prints the top N).
/// </summary>
internal sealed class AllocationSampler : System.Diagnostics.Tracing.EventListener
{
    private readonly Dictionary<string, long> _bytes = new(StringComparer.Ordinal);
    private volatile bool _recording;

    public bool Recording { set => _recording = value; }

    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)0x1);
        }
    }

    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
    {
        if (!_recording || e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.PayloadNames is null)
        {
            return;
        }

        var type = e.Payload![e.PayloadNames.IndexOf("TypeName")] as string ?? "?";
        var amount = Convert.ToInt64(e.Payload[e.PayloadNames.IndexOf("AllocationAmount64")], CultureInfo.InvariantCulture);
        lock (_bytes)
        {
            _bytes[type] = _bytes.GetValueOrDefault(type) + amount;
        }
    }

    /// <summary>The top types by sampled bytes, as "type=bytes per job" pairs.</summary>
    public string Top(int count, int jobs)
    {
        lock (_bytes)
        {
            return string.Join("; ", _bytes.OrderByDescending(kv => kv.Value).Take(count).Select(kv => $"{kv.Key}={kv.Value / jobs}"));
        }
    }
}
