using System.Diagnostics;

namespace MediaGen.Benchmarks;

/// <summary>
/// An I/O-bound run: every generation awaits a real 2 s delay, 10,000 at a time, 50,000 jobs. Ideally the jobs finish
/// in five waves of 2 s (10 s); the run reports how far the wall time is from that, and the peak working set and managed
/// heap sampled every 50 ms. Warm-up rounds of the same jobs with 20 ms waits run first (<c>--warmup</c> jobs a round, one
/// wave by default; 0 measures a cold process) until a round compiles fewer than 20 methods, so the measured waves run
/// compiled code, as a worker host does after its first minute; the JIT time that still falls in the window is printed.
/// </summary>
internal static class IoMode
{
    private static readonly TimeSpan WarmupDelay = TimeSpan.FromMilliseconds(20);

    public static async Task<int> RunAsync(Arguments args)
    {
        var jobs = args.Int("--jobs", 50_000);
        var concurrency = args.Int("--concurrency", 10_000);
        var delay = TimeSpan.FromMilliseconds(args.Int("--delay-ms", 2000));
        var submitters = args.Int("--submitters", Math.Max(2, Environment.ProcessorCount));
        var warmup = args.Int("--warmup", concurrency);
        var ideal = delay * Math.Ceiling((double)jobs / concurrency);
        using var allocations = args.Flag("--types") ? new AllocationSampler() : null;

        Report.Environment();
        Console.WriteLine($"# io: {jobs:N0} jobs, each awaiting {delay.TotalSeconds} s, concurrency {concurrency:N0}, after {warmup:N0} warm-up jobs; ideal wall time {ideal.TotalSeconds} s");

        var generator = new DelayGenerator(delay);
        await using var pipeline = await MediaGenPipeline.StartAsync(concurrency, generator).ConfigureAwait(false);
        var request = new GenerationRequest { Prompt = "a lighthouse on a cliff at dusk", Model = NoOpGenerator.ModelId, OwnerId = "bench" };
        // Warm-up rounds of short waits until the code is compiled for good, so the measured waves do not share the two
        // cores with the JIT.
        long warmed = 0;
        if (warmup > 0)
        {
            generator.Delay = WarmupDelay;
            var rounds = await WarmUp.RunAsync(async round =>
            {
                var done = pipeline.Completions.WhenFinished((round + 1L) * warmup);
                await SubmitAsync(pipeline.Client, request, warmup, submitters).ConfigureAwait(false);
                await done.WaitAsync(ideal * 10).ConfigureAwait(false);
            }).ConfigureAwait(false);
            warmed = (long)rounds * warmup;
            generator.Delay = delay;
            generator.Reset();
            Console.WriteLine($"# warm-up: {rounds} round(s) of {warmup:N0} jobs waiting {WarmupDelay.TotalMilliseconds} ms");
        }

        Snapshot.Settle();
        var baselineWorkingSet = Environment.WorkingSet;
        var baselineHeap = GC.GetTotalMemory(forceFullCollection: false);

        var unsuccessfulBefore = pipeline.Completions.Unsuccessful;
        using var sampling = new CancellationTokenSource();
        var sampler = SampleAsync(sampling.Token);
        var finished = pipeline.Completions.WhenFinished(warmed + jobs);
        allocations?.Start();
        var before = Snapshot.Take();
        await SubmitAsync(pipeline.Client, request, jobs, submitters).ConfigureAwait(false);
        var submittedIn = Stopwatch.GetElapsedTime(before.Timestamp);
        await finished.WaitAsync(ideal * 10).ConfigureAwait(false);
        var after = Snapshot.Take();
        var types = allocations?.Stop();
        await sampling.CancelAsync().ConfigureAwait(false);
        var (peakWorkingSet, peakHeap) = await sampler.ConfigureAwait(false);

        var result = new RunResult("MediaGen", concurrency, jobs, before, after, pipeline.Completions.Unsuccessful - unsuccessfulBefore);
        var overIdeal = (result.Wall.TotalSeconds / ideal.TotalSeconds) - 1;
        Report.Load("after the run");
        Console.WriteLine();
        Report.Table(
            ["system", "jobs", "concurrency", "submitted in s", "wall s", "ideal s", "over ideal", "peak working set MB", "peak managed heap MB", "baseline WS / heap MB", "CPU µs/job", "B/job", "work items/job", "GC 0/1/2", "GC pause ms", "JIT ms (methods)", "not succeeded"],
            [[
                "MediaGen",
                Report.N(jobs),
                Report.N(concurrency),
                Report.N(submittedIn.TotalSeconds, 2),
                Report.N(result.Wall.TotalSeconds, 2),
                Report.N(ideal.TotalSeconds, 2),
                Report.N(overIdeal * 100, 1) + "%",
                Report.N(peakWorkingSet / 1048576.0, 1),
                Report.N(peakHeap / 1048576.0, 1),
                Report.N(baselineWorkingSet / 1048576.0, 1) + " / " + Report.N(baselineHeap / 1048576.0, 1),
                Report.N(result.CpuMicrosecondsPerJob, 2),
                Report.N(result.BytesPerJob),
                Report.N(result.WorkItemsPerJob, 2),
                result.Collections,
                Report.N(result.GcPauseMilliseconds),
                $"{Report.N(result.JitMilliseconds)} ({Report.N(result.JitMethods)})",
                Report.N(result.Unsuccessful),
            ]]);
        Console.WriteLine();
        Console.WriteLine($"# generator waits: mean {Report.N(generator.MeanWait.TotalMilliseconds, 1)} ms, max {Report.N(generator.MaxWait.TotalMilliseconds, 1)} ms (asked {delay.TotalMilliseconds} ms); "
            + $"peak running at once {Report.N(generator.PeakRunning)}; first to last attempt start {Report.N(generator.StartSpread.TotalSeconds, 2)} s (ideal {Report.N((ideal - delay).TotalSeconds, 2)} s)");
        if (types is not null)
        {
            AllocationSampler.Print("io run", types, jobs, top: 40);
        }

        return result.Unsuccessful > 0 ? 1 : 0;
    }

    private static Task SubmitAsync(IMediaGenerationClient client, GenerationRequest request, int count, int submitters)
    {
        var tasks = new Task[submitters];
        for (var s = 0; s < submitters; s++)
        {
            var share = (count / submitters) + (s < count % submitters ? 1 : 0);
            tasks[s] = Task.Run(async () =>
            {
                for (var i = 0; i < share; i++)
                {
                    await client.SubmitAsync(request).ConfigureAwait(false);
                }
            });
        }

        return Task.WhenAll(tasks);
    }

    private static async Task<(long WorkingSet, long Heap)> SampleAsync(CancellationToken cancellationToken)
    {
        // Environment.WorkingSet reads one small proc file. Process.Refresh and WorkingSet64 also read each thread's files:
        // 20 times a second that cost the measured run about 6 µs of CPU per job and 250 of the methods compiled in it.
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        long peakWorkingSet = 0;
        long peakHeap = 0;
        do
        {
            peakWorkingSet = Math.Max(peakWorkingSet, Environment.WorkingSet);
            peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(forceFullCollection: false));
        }
        while (await WaitAsync(timer, cancellationToken).ConfigureAwait(false));

        return (peakWorkingSet, peakHeap);
    }

    private static async ValueTask<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
