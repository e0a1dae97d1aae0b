using System.Collections.Concurrent;

namespace MediaGen.Internal;

/// <summary>An attempt running in this process, as the registry sees it.</summary>
internal interface IRunningAttempt
{
    /// <summary>The job is over (canceled by its owner): stop the attempt and cancel the provider's work.</summary>
    void Abort();

    /// <summary>The worker is shutting down: stop the attempt, leaving the provider's work to be resumed.</summary>
    void StopForShutdown();
}

/// <summary>
/// The attempts running in this process, so a cancel signal (<see cref="IJobCancelSignal"/>, heard by
/// <see cref="JobCancelListener"/>) reaches its generator at once and a shutdown past its drain timeout reaches every
/// attempt. Cancels whose signal never arrives reach the worker through <see cref="GenerationJob.CancelRequested"/>,
/// read at each lease renewal.
/// </summary>
/// <remarks>
/// A signal can overtake the attempt it is for: the job is started, its cancel recorded and signalled, and the signal
/// heard before the attempt registers here. Such a signal is remembered for <see cref="EarlySignalWindow"/>, and the
/// attempt is aborted as it registers. Attempts and signals are keyed by run id (<see cref="GenerationJob.RunId"/>): a
/// cancel is recorded only on a Processing job, and a canceled job runs again only as a new run (a retry), so a
/// remembered signal can only be for the run that is starting, never for the next one.
/// </remarks>
internal sealed class JobCancellationRegistry(TimeProvider timeProvider)
{
    /// <summary>How long a signal for a job with no attempt here is remembered.</summary>
    public static readonly TimeSpan EarlySignalWindow = TimeSpan.FromSeconds(30);

    private const int PruneAbove = 64;

    // A dictionary under a lock, not a concurrent one: a registration takes a freed slot instead of a new node per attempt.
    private readonly Lock _gate = new();
    private readonly Dictionary<string, IRunningAttempt> _running = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _early = new(StringComparer.Ordinal);

    /// <summary>How many early signals are remembered now (they are pruned once past the window).</summary>
    public int RememberedSignals => _early.Count;

    /// <summary>How many attempts run in this process now.</summary>
    public int Running
    {
        get
        {
            lock (_gate)
            {
                return _running.Count;
            }
        }
    }

    public void Register(string runId, IRunningAttempt attempt)
    {
        lock (_gate)
        {
            _running[runId] = attempt;
        }

        if (TakeEarlySignal(runId))
        {
            attempt.Abort();
        }
    }

    public void Unregister(string runId, IRunningAttempt attempt)
    {
        lock (_gate)
        {
            if (_running.TryGetValue(runId, out var registered) && ReferenceEquals(registered, attempt))
            {
                _running.Remove(runId);
            }
        }
    }

    /// <summary>A cancel of <paramref name="runId"/> was recorded: aborts its attempt here, or remembers it for a moment.</summary>
    /// <returns>Whether an attempt running here was aborted.</returns>
    public bool TryCancel(string runId)
    {
        if (Find(runId) is { } attempt)
        {
            attempt.Abort();
            return true;
        }

        Prune();
        _early[runId] = timeProvider.GetTimestamp();

        // The attempt may have registered between the look-up and the line above, without seeing the signal.
        if (Find(runId) is { } late && _early.TryRemove(runId, out _))
        {
            late.Abort();
            return true;
        }

        return false;
    }

    public void StopAll()
    {
        IRunningAttempt[] running;
        lock (_gate)
        {
            running = [.. _running.Values];
        }

        foreach (var attempt in running)
        {
            attempt.StopForShutdown();
        }
    }

    private IRunningAttempt? Find(string runId)
    {
        lock (_gate)
        {
            return _running.GetValueOrDefault(runId);
        }
    }

    private bool TakeEarlySignal(string runId) =>
        _early.TryRemove(runId, out var heard) && timeProvider.GetElapsedTime(heard) < EarlySignalWindow;

    private void Prune()
    {
        if (_early.Count <= PruneAbove)
        {
            return;
        }

        foreach (var (runId, heard) in _early)
        {
            if (timeProvider.GetElapsedTime(heard) >= EarlySignalWindow)
            {
                _early.TryRemove(new KeyValuePair<string, long>(runId, heard));
            }
        }
    }
}
