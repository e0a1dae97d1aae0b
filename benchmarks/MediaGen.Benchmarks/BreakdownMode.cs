namespace MediaGen.Benchmarks;

/// <summary>
/// Splits a throughput run in two: jobs are submitted with the worker not yet started (submission alone), then the
/// worker is started and drains them (processing alone), so CPU and bytes per job can be charged to each side.
/// </summary>
internal static class BreakdownMode
{
    public static async Task<int> RunAsync(Arguments args)
    {
        var jobs = args.Int("--jobs", 100_000);
        var concurrency = args.Int("--concurrency", 16);
        TimeSpan? retention = args.Int("--retention-ms", -1) is var ms and >= 0 ? TimeSpan.FromMilliseconds(ms) : null;
        using var sampler = args.Flag("--types") ? new AllocationSampler() : null;
        Report.Environment();
        Console.WriteLine($"# breakdown: {jobs:N0} jobs, concurrency {concurrency}; submission (one submitter, worker stopped), then processing");

        // Warm the JIT on a throw-away pipeline first.
        await ThroughputMode.RunMediaGenAsync(concurrency, 20_000, 0, 2).ConfigureAwait(false);

        await using var pipeline = MediaGenPipeline.Create(concurrency, new NoOpGenerator(), retention);
        var request = new GenerationRequest { Prompt = "a lighthouse on a cliff at dusk", Model = NoOpGenerator.ModelId, OwnerId = "bench" };
        Snapshot.Settle();
        sampler?.Start();
        var start = Snapshot.Take();
        for (var i = 0; i < jobs; i++)
        {
            await pipeline.Client.SubmitAsync(request).ConfigureAwait(false);
        }

        var submitted = Snapshot.Take();
        var submitTypes = sampler?.Stop();
        Snapshot.Settle();
        sampler?.Start();
        var finished = pipeline.Completions.WhenFinished(jobs);
        var processStart = Snapshot.Take();
        await pipeline.StartAsync().ConfigureAwait(false);
        await finished.WaitAsync(TimeSpan.FromMinutes(10)).ConfigureAwait(false);
        var processed = Snapshot.Take();
        var processTypes = sampler?.Stop();

        var submit = new RunResult("submit only", 1, jobs, start, submitted, 0);
        var process = new RunResult("process only", concurrency, jobs, processStart, processed, pipeline.Completions.Unsuccessful);
        Report.Load("after the run");
        Console.WriteLine();
        Report.Table(
            ["phase", "jobs/s", "CPU µs/job", "B/job", "work items/job", "lock waits/job", "GC 0/1/2", "GC pause ms"],
            new[] { submit, process }.Select(r => (IReadOnlyList<string>)[r.System, Report.N(r.JobsPerSecond), Report.N(r.CpuMicrosecondsPerJob, 2), Report.N(r.BytesPerJob), Report.N(r.WorkItemsPerJob, 2), Report.N(r.LockContentionsPerJob, 3), r.Collections, Report.N(r.GcPauseMilliseconds)]));
        if (submitTypes is not null && processTypes is not null)
        {
            AllocationSampler.Print("submit only", submitTypes, jobs);
            AllocationSampler.Print("process only", processTypes, jobs);
        }

        return process.Unsuccessful > 0 ? 1 : 0;
    }
}
