using System.Diagnostics;
using System.Globalization;

namespace MediaGen.Benchmarks;

/// <summary>Process-wide counters read before and after a measured run.</summary>
internal readonly record struct Snapshot(long Timestamp, TimeSpan Cpu, long Allocated, int Gen0, int Gen1, int Gen2, TimeSpan GcPause, long WorkItems, long LockContentions, TimeSpan JitTime, long JitMethods)
{
    public static Snapshot Take()
    {
        using var process = Process.GetCurrentProcess();
        return new Snapshot(
            Stopwatch.GetTimestamp(),
            process.TotalProcessorTime,
            GC.GetTotalAllocatedBytes(precise: true),
            GC.CollectionCount(0),
            GC.CollectionCount(1),
            GC.CollectionCount(2),
            GC.GetTotalPauseDuration(),
            ThreadPool.CompletedWorkItemCount,
            Monitor.LockContentionCount,
            System.Runtime.JitInfo.GetCompilationTime(),
            System.Runtime.JitInfo.GetCompiledMethodCount());
    }

    public static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}

/// <summary>
/// Warm-up in rounds until the code is compiled for good: a round, then a pause for tier-1 recompilation (it starts once no
/// new method was compiled for 100 ms, on a background thread), until a round and its pause compile fewer than 20 methods.
/// Otherwise the JIT shares the cores with the measured run.
/// </summary>
internal static class WarmUp
{
    private const int QuietMethods = 20;
    private const int MaxRounds = 20;
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(500);

    /// <summary>Runs <paramref name="round"/> (given the jobs finished so far, it runs one more round) until quiet.</summary>
    /// <returns>The number of rounds run.</returns>
    public static async Task<int> RunAsync(Func<int, Task> round)
    {
        var rounds = 0;
        for (var compiled = long.MaxValue; compiled >= QuietMethods && rounds < MaxRounds; rounds++)
        {
            var before = System.Runtime.JitInfo.GetCompiledMethodCount();
            await round(rounds).ConfigureAwait(false);
            await Task.Delay(Pause).ConfigureAwait(false);
            compiled = System.Runtime.JitInfo.GetCompiledMethodCount() - before;
        }

        return rounds;
    }
}

/// <summary>One measured run of <see cref="Jobs"/> jobs from the first submit to the last terminal status.</summary>
internal sealed record RunResult(string System, int Concurrency, long Jobs, Snapshot Before, Snapshot After, long Unsuccessful)
{
    public TimeSpan Wall => Stopwatch.GetElapsedTime(Before.Timestamp, After.Timestamp);

    public double JobsPerSecond => Jobs / Wall.TotalSeconds;

    public double CpuMicrosecondsPerJob => (After.Cpu - Before.Cpu).TotalMicroseconds / Jobs;

    public double BytesPerJob => (double)(After.Allocated - Before.Allocated) / Jobs;

    /// <summary>Thread-pool work items completed per job: every hand-off from one thread to another costs one.</summary>
    public double WorkItemsPerJob => (double)(After.WorkItems - Before.WorkItems) / Jobs;

    /// <summary>Times per job a thread found a lock taken and had to wait for it.</summary>
    public double LockContentionsPerJob => (double)(After.LockContentions - Before.LockContentions) / Jobs;

    public double GcPauseMilliseconds => (After.GcPause - Before.GcPause).TotalMilliseconds;

    /// <summary>Time the JIT spent compiling (tier 0, tier 1 and OSR) within the run, on any thread.</summary>
    public double JitMilliseconds => (After.JitTime - Before.JitTime).TotalMilliseconds;

    /// <summary>Methods compiled within the run.</summary>
    public long JitMethods => After.JitMethods - Before.JitMethods;

    public string Collections => string.Create(CultureInfo.InvariantCulture, $"{After.Gen0 - Before.Gen0}/{After.Gen1 - Before.Gen1}/{After.Gen2 - Before.Gen2}");
}

/// <summary>Plain-text tables and numbers, invariant culture.</summary>
internal static class Report
{
    public static string N(double value, int decimals = 0) => value.ToString("N" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    public static void Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = new List<IReadOnlyList<string>> { header };
        all.AddRange(rows);
        var widths = new int[header.Count];
        foreach (var row in all)
        {
            for (var i = 0; i < row.Count; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        for (var r = 0; r < all.Count; r++)
        {
            var cells = all[r].Select((cell, i) => i == 0 ? cell.PadRight(widths[i]) : cell.PadLeft(widths[i]));
            Console.WriteLine("| " + string.Join(" | ", cells) + " |");
            if (r == 0)
            {
                Console.WriteLine("|" + string.Join("|", widths.Select((w, i) => i == 0 ? new string('-', w + 2) : new string('-', w + 1) + ":")) + "|");
            }
        }
    }

    public static void Environment()
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"# {DateTimeOffset.UtcNow:u}  .NET {System.Environment.Version}  {System.Runtime.InteropServices.RuntimeInformation.OSDescription}  cores: {System.Environment.ProcessorCount}  server GC: {System.Runtime.GCSettings.IsServerGC}"));
        try
        {
            var load = File.ReadAllText("/proc/loadavg").Trim();
            Console.WriteLine("# load average (1/5/15 min, running/total, last pid): " + load);
        }
        catch (IOException)
        {
            // Not Linux: no load figure.
        }
        catch (UnauthorizedAccessException)
        {
            // No access: no load figure.
        }
    }

    public static void Load(string when)
    {
        try
        {
            Console.WriteLine($"# load average {when}: " + File.ReadAllText("/proc/loadavg").Trim());
        }
        catch (IOException)
        {
            // Not Linux.
        }
        catch (UnauthorizedAccessException)
        {
            // No access.
        }
    }
}

/// <summary>Tiny argument reader: <c>--name value</c> pairs.</summary>
internal sealed class Arguments(string[] args)
{
    public int Int(string name, int fallback) =>
        Value(name) is { } v ? int.Parse(v, NumberStyles.Integer, CultureInfo.InvariantCulture) : fallback;

    public int[] Ints(string name, int[] fallback) =>
        Value(name) is { } v ? v.Split(',').Select(s => int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture)).ToArray() : fallback;

    public bool Flag(string name) => args.Contains(name, StringComparer.Ordinal);

    private string? Value(string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
