namespace MediaGen.Benchmarks;

/// <summary>
/// Submit to Succeeded with a no-op generator, as fast as parallel submitters (each on its own thread) can go, at several
/// worker concurrencies, for MediaGen and its peers (Hangfire.InMemory, MassTransit's in-memory bus) in the same process,
/// one after the other.
/// Each system warms up in rounds of <c>--warmup</c> jobs until a round compiles fewer than 20 methods (<see cref="WarmUp"/>).
/// </summary>
internal static class ThroughputMode
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(10);

    public static async Task<int> RunAsync(Arguments args)
    {
        var jobs = args.Int("--jobs", 100_000);
        var warmup = args.Int("--warmup", 10_000);
        var submitters = args.Int("--submitters", Math.Max(2, Environment.ProcessorCount));
        var concurrencies = args.Ints("--concurrency", [1, 16, 256]);
        var withPeer = !args.Flag("--no-peer");
        TimeSpan? retention = args.Int("--retention-ms", -1) is var ms and >= 0 ? TimeSpan.FromMilliseconds(ms) : null;

        Report.Environment();
        Console.WriteLine($"# throughput: {jobs:N0} jobs per run after {warmup:N0} warm-up jobs, {submitters} parallel submitters");
        if (retention is { } kept)
        {
            Console.WriteLine($"# MediaGen keeps finished jobs, reservations and event histories {kept.TotalMilliseconds:N0} ms (the peers keep their defaults)");
        }
        var results = new List<RunResult>();
        foreach (var concurrency in concurrencies)
        {
            var mediaGen = await RunMediaGenAsync(concurrency, jobs, warmup, submitters, retention).ConfigureAwait(false);
            Print(mediaGen);
            results.Add(mediaGen);
            if (withPeer)
            {
                var hangfire = await RunHangfireAsync(concurrency, jobs, warmup, submitters).ConfigureAwait(false);
                Print(hangfire);
                results.Add(hangfire);
                var massTransit = await RunMassTransitAsync(concurrency, jobs, warmup, submitters).ConfigureAwait(false);
                Print(massTransit);
                results.Add(massTransit);
            }
        }

        Report.Load("after the runs");
        Console.WriteLine();
        PrintTable(results);
        return results.Any(r => r.Unsuccessful > 0) ? 1 : 0;
    }

    public static async Task<RunResult> RunMediaGenAsync(int concurrency, int jobs, int warmup, int submitters, TimeSpan? retention = null)
    {
        await using var pipeline = await MediaGenPipeline.StartAsync(concurrency, new NoOpGenerator(), retention).ConfigureAwait(false);
        var request = new GenerationRequest { Prompt = "a lighthouse on a cliff at dusk", Model = NoOpGenerator.ModelId, OwnerId = "bench" };

        var warmed = warmup <= 0 ? 0L : (long)warmup * await WarmUp.RunAsync(async round =>
        {
            var done = pipeline.Completions.WhenFinished((round + 1L) * warmup);
            await SubmitAsync(pipeline.Client, request, warmup, submitters).ConfigureAwait(false);
            await done.WaitAsync(RunTimeout).ConfigureAwait(false);
        }).ConfigureAwait(false);

        Snapshot.Settle();
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var unsuccessfulBefore = pipeline.Completions.Unsuccessful;
        var finished = pipeline.Completions.WhenFinished(warmed + jobs);
        var before = Snapshot.Take();
        await SubmitAsync(pipeline.Client, request, jobs, submitters).ConfigureAwait(false);
        await finished.WaitAsync(RunTimeout).ConfigureAwait(false);
        var after = Snapshot.Take();

        // What the in-memory backend keeps of each finished job (the job, its credit records, its event history) until
        // their retention ends: the managed heap after a full collection, against the same before the run.
        Snapshot.Settle();
        var retained = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
        Console.WriteLine($"# MediaGen concurrency {concurrency}: {retained / jobs:N0} B retained per finished job (managed heap after a full GC)");
        return new RunResult("MediaGen", concurrency, jobs, before, after, pipeline.Completions.Unsuccessful - unsuccessfulBefore);
    }

    public static async Task<RunResult> RunHangfireAsync(int workers, int jobs, int warmup, int submitters)
    {
        using var peer = new HangfirePeer(workers);
        var client = peer.Client;
        var warmed = warmup <= 0 ? 0L : (long)warmup * await WarmUp.RunAsync(async round =>
        {
            var done = HangfirePeer.WhenFinished((round + 1L) * warmup);
            await EnqueueAsync(client, warmup, submitters).ConfigureAwait(false);
            await done.WaitAsync(RunTimeout).ConfigureAwait(false);
        }).ConfigureAwait(false);

        Snapshot.Settle();
        var finished = HangfirePeer.WhenFinished(warmed + jobs);
        var before = Snapshot.Take();
        await EnqueueAsync(client, jobs, submitters).ConfigureAwait(false);
        await finished.WaitAsync(RunTimeout).ConfigureAwait(false);
        var after = Snapshot.Take();
        return new RunResult("Hangfire.InMemory", workers, jobs, before, after, Unsuccessful: 0);
    }

    public static async Task<RunResult> RunMassTransitAsync(int concurrency, int jobs, int warmup, int submitters)
    {
        await using var peer = await MassTransitPeer.StartAsync(concurrency).ConfigureAwait(false);
        var message = new NoOpJob("a lighthouse on a cliff at dusk");
        var warmed = warmup <= 0 ? 0L : (long)warmup * await WarmUp.RunAsync(async round =>
        {
            var done = MassTransitPeer.WhenFinished((round + 1L) * warmup);
            await SendAsync(peer.Endpoint, message, warmup, submitters).ConfigureAwait(false);
            await done.WaitAsync(RunTimeout).ConfigureAwait(false);
        }).ConfigureAwait(false);

        Snapshot.Settle();
        var finished = MassTransitPeer.WhenFinished(warmed + jobs);
        var before = Snapshot.Take();
        await SendAsync(peer.Endpoint, message, jobs, submitters).ConfigureAwait(false);
        await finished.WaitAsync(RunTimeout).ConfigureAwait(false);
        var after = Snapshot.Take();
        return new RunResult("MassTransit", concurrency, jobs, before, after, Unsuccessful: 0);
    }

    private static Task SendAsync(MassTransit.ISendEndpoint endpoint, NoOpJob message, int count, int submitters) =>
        Parallel(count, submitters, async share =>
        {
            for (var i = 0; i < share; i++)
            {
                await endpoint.Send(message).ConfigureAwait(false);
            }
        });

    private static Task SubmitAsync(IMediaGenerationClient client, GenerationRequest request, int count, int submitters) =>
        Parallel(count, submitters, async share =>
        {
            for (var i = 0; i < share; i++)
            {
                await client.SubmitAsync(request).ConfigureAwait(false);
            }
        });

    private static Task EnqueueAsync(Hangfire.IBackgroundJobClient client, int count, int submitters) =>
        Parallel(count, submitters, share =>
        {
            for (var i = 0; i < share; i++)
            {
                Hangfire.BackgroundJobClientExtensions.Enqueue(client, () => HangfireJobs.NoOp());
            }

            return Task.CompletedTask;
        });

    // Each submitter loops on a thread of its own, as a producer outside the system under test would. On a pool thread, a
    // loop whose submissions complete at once (in memory, and Hangfire's Enqueue) holds that thread for the whole run, and
    // with two cores the pool adds threads for the workers, which then spin and contend. Six alternating pairs on one
    // machine: MediaGen's CPU per job was lower with the submitters on their own threads in every pair (6.4-9.4 against
    // 6.9-11.7 µs; lock waits 0.001-0.005 against 0.008-0.021 per job in the four pairs of MediaGen alone). Its jobs/s
    // moved with the machine more than with this: it swings between about 150k and 215k from one minute to the next,
    // whichever way the submitters run (benchmarks/results/inmemory-2026-12-01-d.md).
    private static Task Parallel(int count, int submitters, Func<int, Task> submit)
    {
        var tasks = new Task[submitters];
        for (var s = 0; s < submitters; s++)
        {
            var share = (count / submitters) + (s < count % submitters ? 1 : 0);
            tasks[s] = Task.Factory.StartNew(() => submit(share), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        }

        return Task.WhenAll(tasks);
    }

    private static void Print(RunResult r) =>
        Console.WriteLine($"{r.System,-18} concurrency {r.Concurrency,5}: {Report.N(r.JobsPerSecond),10} jobs/s  {Report.N(r.CpuMicrosecondsPerJob, 2),8} CPU µs/job  {Report.N(r.BytesPerJob),8} B/job  {Report.N(r.WorkItemsPerJob, 2),6} work items/job  {Report.N(r.LockContentionsPerJob, 3)} lock waits/job  wall {Report.N(r.Wall.TotalSeconds, 2)} s  GC {r.Collections}  GC pause {Report.N(r.GcPauseMilliseconds)} ms  JIT {Report.N(r.JitMilliseconds)} ms ({Report.N(r.JitMethods)} methods)  not succeeded {r.Unsuccessful}");

    private static void PrintTable(List<RunResult> results)
    {
        var peers = results.Select(r => r.System).Where(s => s != "MediaGen").Distinct().ToList();
        var header = new List<string> { "concurrency", "MediaGen jobs/s" };
        header.AddRange(peers.SelectMany(p => new[] { $"{p} jobs/s", $"vs {p}" }));
        header.Add("MediaGen CPU µs/job");
        header.AddRange(peers.Select(p => $"{p} CPU µs/job"));
        header.Add("MediaGen B/job");
        header.AddRange(peers.Select(p => $"{p} B/job"));
        header.Add("MediaGen work items/job");
        header.AddRange(peers.Select(p => $"{p} work items/job"));
        header.Add("MediaGen GC 0/1/2 (pause ms)");
        header.AddRange(peers.Select(p => $"{p} GC 0/1/2 (pause ms)"));
        var rows = new List<IReadOnlyList<string>>();
        foreach (var group in results.GroupBy(r => r.Concurrency))
        {
            var m = group.FirstOrDefault(r => r.System == "MediaGen");
            var others = peers.Select(p => group.FirstOrDefault(r => r.System == p)).ToList();
            var row = new List<string> { group.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), m is null ? "-" : Report.N(m.JobsPerSecond) };
            row.AddRange(others.SelectMany(o => new[]
            {
                o is null ? "-" : Report.N(o.JobsPerSecond),
                m is null || o is null ? "-" : Report.N(m.JobsPerSecond / o.JobsPerSecond, 2) + "x",
            }));
            row.Add(m is null ? "-" : Report.N(m.CpuMicrosecondsPerJob, 2));
            row.AddRange(others.Select(o => o is null ? "-" : Report.N(o.CpuMicrosecondsPerJob, 2)));
            row.Add(m is null ? "-" : Report.N(m.BytesPerJob));
            row.AddRange(others.Select(o => o is null ? "-" : Report.N(o.BytesPerJob)));
            row.Add(m is null ? "-" : Report.N(m.WorkItemsPerJob, 2));
            row.AddRange(others.Select(o => o is null ? "-" : Report.N(o.WorkItemsPerJob, 2)));
            row.Add(m is null ? "-" : $"{m.Collections} ({Report.N(m.GcPauseMilliseconds)})");
            row.AddRange(others.Select(o => o is null ? "-" : $"{o.Collections} ({Report.N(o.GcPauseMilliseconds)})"));
            rows.Add(row);
        }

        Report.Table(header, rows);
    }
}
