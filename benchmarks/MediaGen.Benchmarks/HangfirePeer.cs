using System.Diagnostics;
using Hangfire;
using Hangfire.InMemory;
using Hangfire.States;
using Hangfire.Storage;

namespace MediaGen.Benchmarks;

/// <summary>
/// The peer: Hangfire with Hangfire.InMemory storage, a no-op job and a server with the same worker count. Completion is
/// counted by a state filter when a job enters the Succeeded state, the same point MediaGen's count is taken.
/// </summary>
internal sealed class HangfirePeer : IDisposable
{
    private static int s_configured;
    private readonly InMemoryStorage _storage;
    private readonly BackgroundJobServer _server;

    public HangfirePeer(int workerCount)
    {
        if (Interlocked.Exchange(ref s_configured, 1) == 0)
        {
            GlobalConfiguration.Configuration
                .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
                .UseSimpleAssemblyNameTypeSerializer()
                .UseRecommendedSerializerSettings();
            GlobalJobFilters.Filters.Add(HangfireCompletions.Filter);
        }

        HangfireCompletions.Reset();
        _storage = new InMemoryStorage(new InMemoryStorageOptions());
        Client = new BackgroundJobClient(_storage);
        _server = new BackgroundJobServer(
            new BackgroundJobServerOptions
            {
                WorkerCount = workerCount,
                ServerName = "bench",
                ShutdownTimeout = TimeSpan.FromSeconds(30),
            },
            _storage);
    }

    public IBackgroundJobClient Client { get; }

    public static long Finished => HangfireCompletions.Finished;

    public static Task WhenFinished(long total) => HangfireCompletions.WhenFinished(total);

    public void Dispose()
    {
        _server.SendStop();
        _server.Dispose();
        _storage.Dispose();
    }
}

/// <summary>The jobs Hangfire runs. Hangfire invokes public methods only.</summary>
public static class HangfireJobs
{
    private static long[] s_started = [];

    /// <summary>Does nothing.</summary>
    public static void NoOp()
    {
    }

    /// <summary>Records when job <paramref name="index"/> started.</summary>
    /// <param name="index">The job's slot.</param>
    public static void RecordStart(int index) => s_started[index] = Stopwatch.GetTimestamp();

    internal static void UseStartTimestamps(long[] started) => s_started = started;
}

/// <summary>Counts Hangfire jobs entering a final state.</summary>
internal static class HangfireCompletions
{
    private static TaskCompletionSource s_reached = NewSource();
    private static long s_target = long.MaxValue;
    private static long s_finished;

    public static IApplyStateFilter Filter { get; } = new CountingFilter();

    public static long Finished => Volatile.Read(ref s_finished);

    public static void Reset()
    {
        Volatile.Write(ref s_target, long.MaxValue);
        Volatile.Write(ref s_finished, 0);
    }

    public static Task WhenFinished(long total)
    {
        var reached = NewSource();
        Volatile.Write(ref s_reached, reached);
        Volatile.Write(ref s_target, total);
        if (Finished >= total)
        {
            reached.TrySetResult();
        }

        return reached.Task;
    }

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class CountingFilter : IApplyStateFilter
    {
        public void OnStateApplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
        {
            if (context.NewState is { IsFinal: true } && Interlocked.Increment(ref s_finished) >= Volatile.Read(ref s_target))
            {
                Volatile.Read(ref s_reached).TrySetResult();
            }
        }

        public void OnStateUnapplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
        {
        }
    }
}
