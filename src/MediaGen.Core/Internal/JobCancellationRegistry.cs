using System.Collections.Concurrent;

namespace MediaGen.Internal;

/// <summary>
/// The jobs running in this process, so a cancel submitted here reaches its generator at once. Cancels submitted in
/// another process reach the worker through <see cref="GenerationJob.CancelRequested"/>, read at each lease renewal.
/// </summary>
internal sealed class JobCancellationRegistry
{
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _running = new(StringComparer.Ordinal);

    public void Register(string jobId, CancellationTokenSource jobAborted) => _running[jobId] = jobAborted;

    public void Unregister(string jobId, CancellationTokenSource jobAborted) =>
        _running.TryRemove(new KeyValuePair<string, CancellationTokenSource>(jobId, jobAborted));

    public bool TryCancel(string jobId)
    {
        if (!_running.TryGetValue(jobId, out var cts))
        {
            return false;
        }

        try
        {
            cts.Cancel();
            return true;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }
}
