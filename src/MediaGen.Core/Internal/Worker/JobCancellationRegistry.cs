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
/// The attempts running in this process, so a cancel submitted here reaches its generator at once and a shutdown past
/// its drain timeout reaches every attempt. Cancels submitted in another process reach the worker through
/// <see cref="GenerationJob.CancelRequested"/>, read at each lease renewal.
/// </summary>
internal sealed class JobCancellationRegistry
{
    private readonly ConcurrentDictionary<string, IRunningAttempt> _running = new(StringComparer.Ordinal);

    public void Register(string jobId, IRunningAttempt attempt) => _running[jobId] = attempt;

    public void Unregister(string jobId, IRunningAttempt attempt) =>
        _running.TryRemove(new KeyValuePair<string, IRunningAttempt>(jobId, attempt));

    public bool TryCancel(string jobId)
    {
        if (!_running.TryGetValue(jobId, out var attempt))
        {
            return false;
        }

        attempt.Abort();
        return true;
    }

    public void StopAll()
    {
        foreach (var attempt in _running.Values)
        {
            attempt.StopForShutdown();
        }
    }
}
