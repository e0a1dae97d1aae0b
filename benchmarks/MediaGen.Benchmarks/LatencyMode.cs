using System.Diagnostics;
using System.Globalization;
using Hangfire;

namespace MediaGen.Benchmarks;

/// <summary>
/// Submit-to-start latency at a steady rate: a paced submitter (a periodic timer, catching up to the schedule at each
/// tick) writes each job's submit timestamp into its slot just before submitting, and the generator writes the start
/// timestamp into the same slot when the attempt begins; the peers (Hangfire.InMemory, MassTransit's in-memory bus) run
/// the same way, one after the other in the same process.
/// </summary>
internal static class LatencyMode
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(5);

    public static async Task<int> RunAsync(Arguments args)
    {
        var rate = args.Int("--rate", 1000);
        var seconds = args.Int("--seconds", 10);
        var concurrency = args.Int("--concurrency", 16);
        var warmup = args.Int("--warmup", 2000);
        var withPeer = !args.Flag("--no-peer");
        var total = rate * seconds;

        Report.Environment();
        Console.WriteLine($"# latency: {total:N0} jobs at {rate:N0} jobs/s for {seconds} s, concurrency {concurrency}, after {warmup:N0} warm-up jobs");
        var rows = new List<IReadOnlyList<string>>();
        var mediaGen = await RunMediaGenAsync(rate, total, warmup, concurrency).ConfigureAwait(false);
        rows.Add(mediaGen.Row("MediaGen"));
        Console.WriteLine(string.Join("  ", mediaGen.Row("MediaGen")));
        if (withPeer)
        {
            var peer = await RunHangfireAsync(rate, total, warmup, concurrency).ConfigureAwait(false);
            rows.Add(peer.Row("Hangfire.InMemory"));
            Console.WriteLine(string.Join("  ", peer.Row("Hangfire.InMemory")));
            var massTransit = await RunMassTransitAsync(rate, total, warmup, concurrency).ConfigureAwait(false);
            rows.Add(massTransit.Row("MassTransit"));
            Console.WriteLine(string.Join("  ", massTransit.Row("MassTransit")));
        }

        Report.Load("after the runs");
        Console.WriteLine();
        Report.Table(["system", "jobs", "achieved jobs/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"], rows);
        return 0;
    }

    private static async Task<Latencies> RunMediaGenAsync(int rate, int total, int warmup, int concurrency)
    {
        var submitted = new long[total + warmup];
        var started = new long[total + warmup];
        var requests = new GenerationRequest[total + warmup];
        for (var i = 0; i < requests.Length; i++)
        {
            requests[i] = new GenerationRequest
            {
                Prompt = StartRecordingGenerator.PromptPrefix + i.ToString(CultureInfo.InvariantCulture),
                Model = NoOpGenerator.ModelId,
                OwnerId = "bench",
            };
        }

        await using var pipeline = await MediaGenPipeline.StartAsync(concurrency, new StartRecordingGenerator(started)).ConfigureAwait(false);
        var client = pipeline.Client;

        // Warm-up uses the slots after the measured ones and is left out of the figures.
        var warmed = pipeline.Completions.WhenFinished(warmup);
        for (var i = total; i < total + warmup; i++)
        {
            await client.SubmitAsync(requests[i]).ConfigureAwait(false);
        }

        await warmed.WaitAsync(RunTimeout).ConfigureAwait(false);
        Snapshot.Settle();

        var finished = pipeline.Completions.WhenFinished(warmup + total);
        var wall = await PaceAsync(rate, total, async i =>
        {
            submitted[i] = Stopwatch.GetTimestamp();
            await client.SubmitAsync(requests[i]).ConfigureAwait(false);
        }).ConfigureAwait(false);
        await finished.WaitAsync(RunTimeout).ConfigureAwait(false);
        return Latencies.From(submitted.AsSpan(0, total), started.AsSpan(0, total), wall);
    }

    private static async Task<Latencies> RunHangfireAsync(int rate, int total, int warmup, int workers)
    {
        var submitted = new long[total + warmup];
        var started = new long[total + warmup];
        HangfireJobs.UseStartTimestamps(started);
        using var peer = new HangfirePeer(workers);
        var client = peer.Client;

        var warmed = HangfirePeer.WhenFinished(warmup);
        for (var i = total; i < total + warmup; i++)
        {
            var index = i;
            client.Enqueue(() => HangfireJobs.RecordStart(index));
        }

        await warmed.WaitAsync(RunTimeout).ConfigureAwait(false);
        Snapshot.Settle();

        var finished = HangfirePeer.WhenFinished(warmup + total);
        var wall = await PaceAsync(rate, total, i =>
        {
            submitted[i] = Stopwatch.GetTimestamp();
            client.Enqueue(() => HangfireJobs.RecordStart(i));
            return ValueTask.CompletedTask;
        }).ConfigureAwait(false);
        await finished.WaitAsync(RunTimeout).ConfigureAwait(false);
        return Latencies.From(submitted.AsSpan(0, total), started.AsSpan(0, total), wall);
    }

    private static async Task<Latencies> RunMassTransitAsync(int rate, int total, int warmup, int concurrency)
    {
        var submitted = new long[total + warmup];
        var started = new long[total + warmup];
        StartRecordingConsumer.UseStartTimestamps(started);
        await using var peer = await MassTransitPeer.StartAsync(concurrency, recordStarts: true).ConfigureAwait(false);
        var endpoint = peer.Endpoint;

        var warmed = MassTransitPeer.WhenFinished(warmup);
        for (var i = total; i < total + warmup; i++)
        {
            await endpoint.Send(new TimedJob(i)).ConfigureAwait(false);
        }

        await warmed.WaitAsync(RunTimeout).ConfigureAwait(false);
        Snapshot.Settle();

        var finished = MassTransitPeer.WhenFinished(warmup + total);
        var wall = await PaceAsync(rate, total, async i =>
        {
            submitted[i] = Stopwatch.GetTimestamp();
            await endpoint.Send(new TimedJob(i)).ConfigureAwait(false);
        }).ConfigureAwait(false);
        await finished.WaitAsync(RunTimeout).ConfigureAwait(false);
        return Latencies.From(submitted.AsSpan(0, total), started.AsSpan(0, total), wall);
    }

    /// <summary>Submits <paramref name="total"/> jobs at <paramref name="rate"/> per second; returns the time it took.</summary>
    private static async Task<TimeSpan> PaceAsync(int rate, int total, Func<int, ValueTask> submit)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(1));
        var start = Stopwatch.GetTimestamp();
        var next = 0;
        while (next < total)
        {
            await timer.WaitForNextTickAsync().ConfigureAwait(false);
            var due = (int)Math.Min(total, Stopwatch.GetElapsedTime(start).TotalSeconds * rate);
            while (next < due)
            {
                await submit(next).ConfigureAwait(false);
                next++;
            }
        }

        return Stopwatch.GetElapsedTime(start);
    }

    private sealed record Latencies(int Count, double AchievedRate, double P50, double P90, double P99, double P999, double Max)
    {
        public static Latencies From(ReadOnlySpan<long> submitted, ReadOnlySpan<long> started, TimeSpan wall)
        {
            var ms = new double[submitted.Length];
            for (var i = 0; i < ms.Length; i++)
            {
                ms[i] = Stopwatch.GetElapsedTime(submitted[i], started[i]).TotalMilliseconds;
            }

            Array.Sort(ms);
            return new Latencies(ms.Length, ms.Length / wall.TotalSeconds, At(ms, 0.50), At(ms, 0.90), At(ms, 0.99), At(ms, 0.999), ms[^1]);
        }

        public IReadOnlyList<string> Row(string system) =>
            [system, Report.N(Count), Report.N(AchievedRate), Report.N(P50, 3), Report.N(P90, 3), Report.N(P99, 3), Report.N(P999, 3), Report.N(Max, 3)];

        private static double At(double[] sorted, double quantile) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];
    }
}
