using System.Collections.Concurrent;

namespace MediaGen.Internal;

/// <summary>The in-memory <see cref="IWorkerRegistry"/>: the workers of this process.</summary>
internal sealed class InMemoryWorkerRegistry : IWorkerRegistry
{
    private readonly ConcurrentDictionary<string, WorkerHeartbeat> _workers = new(StringComparer.Ordinal);

    public ValueTask HeartbeatAsync(WorkerHeartbeat heartbeat, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(heartbeat);
        cancellationToken.ThrowIfCancellationRequested();
        _workers[heartbeat.WorkerId] = heartbeat;
        return ValueTask.CompletedTask;
    }

    public ValueTask RemoveAsync(string workerId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(workerId);
        cancellationToken.ThrowIfCancellationRequested();
        _workers.TryRemove(workerId, out _);
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<WorkerHeartbeat>> ListAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        foreach (var (id, heartbeat) in _workers)
        {
            if (heartbeat.ExpiresAt <= now)
            {
                _workers.TryRemove(new KeyValuePair<string, WorkerHeartbeat>(id, heartbeat));
            }
        }

        IReadOnlyList<WorkerHeartbeat> live = [.. _workers.Values.Where(w => w.ExpiresAt > now).OrderBy(w => w.WorkerId, StringComparer.Ordinal)];
        return ValueTask.FromResult(live);
    }
}
