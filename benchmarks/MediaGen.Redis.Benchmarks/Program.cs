using System.Diagnostics;
using System.Globalization;
using MediaGen;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

// MediaGen's Redis queue under the same workload as benchmarks/bullmq/bench.js: no-op jobs, enqueue -> receive ->
// complete through the public IJobQueue API (and optionally the whole pipeline, submit -> Succeeded). Prints one
// JSON line per scenario.
var redis = Arg("--redis") ?? Environment.GetEnvironmentVariable("MEDIAGEN_REDIS") ?? "127.0.0.1:6379";
var jobs = int.Parse(Arg("--jobs") ?? "20000", CultureInfo.InvariantCulture);
var concurrencies = (Arg("--concurrency") ?? "1,16,256").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
var rate = int.Parse(Arg("--rate") ?? "1000", CultureInfo.InvariantCulture);
var latencySeconds = int.Parse(Arg("--latency-seconds") ?? "10", CultureInfo.InvariantCulture);
var pipelineJobs = int.Parse(Arg("--pipeline-jobs") ?? "0", CultureInfo.InvariantCulture);

await using var admin = await ConnectionMultiplexer.ConnectAsync(redis + ",allowAdmin=true");
var runId = Guid.NewGuid().ToString("N")[..8];

// Warm-up: JIT, script cache, connection.
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
    });
}

await using (var q = await QueueAsync($"bench-{runId}-latency", rate * latencySeconds))
{
    var (p50, p99, sent) = await LatencyAsync(q.Queue, rate, latencySeconds, 16);
    Print(new() { ["impl"] = "mediagen", ["scenario"] = "latency", ["rate"] = rate, ["jobs"] = sent, ["p50Ms"] = p50, ["p99Ms"] = p99 });
}

if (pipelineJobs > 0)
{
    await PipelineAsync(pipelineJobs, 16);
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
async Task PipelineAsync(int count, int concurrency)
{
    var prefix = $"bench-{runId}-pipeline";
    var storage = Directory.CreateTempSubdirectory("mediagen-bench");
    using var host = Host.CreateDefaultBuilder()
        .ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Warning))
        .ConfigureServices(services => services.AddMediaGeneration()
            .UseRedisQueue(o => { o.Configuration = redis; o.KeyPrefix = prefix; })
            .UseFileSystemStorage(o => o.RootPath = storage.FullName)
            .ConfigureCredits(o => o.InitialBalance = long.MaxValue / 2)
            .AddGenerator(new NoOpGenerator())
            .AddWorker(o => o.Concurrency = concurrency))
        .Build();
    await host.StartAsync();
    var client = host.Services.GetRequiredService<IMediaGenerationClient>();
    var store = host.Services.GetRequiredService<IJobStore>();
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var started = Stopwatch.GetTimestamp();
    for (var start = 0; start < count; start += 200)
    {
        await Task.WhenAll(Enumerable.Range(start, Math.Min(200, count - start)).Select(i =>
            client.SubmitAsync(new GenerationRequest { Prompt = "p" + i.ToString(CultureInfo.InvariantCulture), Model = NoOpGenerator.ModelId, OwnerId = "bench" }).AsTask()));
    }

    var queue = host.Services.GetRequiredService<IJobQueue>();
    while (true)
    {
        var depth = await queue.GetDepthAsync();
        if (depth.Ready + depth.Delayed + depth.Leased == 0)
        {
            break;
        }

        await Task.Delay(20);
    }

    var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
    var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
    var succeeded = 0;
    string? cursor = null;
    do
    {
        var page = await store.ListAsync(new JobQuery { OwnerId = "bench", Status = JobStatus.Succeeded, Limit = JobQuery.MaxLimit, Cursor = cursor });
        succeeded += page.Items.Count;
        cursor = page.NextCursor;
    }
    while (cursor is not null);

    await host.StopAsync();
    storage.Delete(recursive: true);
    Print(new() { ["impl"] = "mediagen", ["scenario"] = "pipeline", ["concurrency"] = concurrency, ["jobs"] = count, ["succeeded"] = succeeded, ["jobsPerSecond"] = Math.Round(count / seconds), ["clientCpuUsPerJob"] = Math.Round(cpuMs * 1000 / count, 1) });
}

internal sealed class BenchQueue(ServiceProvider provider, IJobQueue queue) : IAsyncDisposable
{
    public IJobQueue Queue { get; } = queue;

    public ValueTask DisposeAsync() => provider.DisposeAsync();
}

internal sealed class NoOpGenerator : IMediaGenerator
{
    public const string ModelId = "noop";

    private static readonly byte[] Bytes = [1];

    public string Name => "noop";

    public IReadOnlyList<ModelDescriptor> Models { get; } = [new ModelDescriptor { Id = ModelId, CostCredits = 1 }];

    public ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(new GenerationResult([GeneratedOutput.FromBytes("application/octet-stream", Bytes)]));
}
