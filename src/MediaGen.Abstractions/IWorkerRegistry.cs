namespace MediaGen;

/// <summary>
/// Where workers announce themselves and heartbeat, so an operator (the dashboard) sees every worker sharing the backend
/// and when each was last heard from. A backend that shares state between processes (Redis) shares the registry; the
/// in-memory default sees this process's workers only.
/// </summary>
/// <remarks>
/// A worker that stops cleanly removes itself; one that dies is forgotten once <see cref="WorkerHeartbeat.ExpiresAt"/>
/// has passed. Times are instants of the workers' clocks (<see cref="TimeProvider"/>).
/// </remarks>
public interface IWorkerRegistry
{
    /// <summary>Records a worker's heartbeat, replacing its previous one.</summary>
    /// <param name="heartbeat">The worker and its state now.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>A task that completes once the heartbeat is recorded.</returns>
    /// <exception cref="QueueUnavailableException">The backend cannot be reached.</exception>
    ValueTask HeartbeatAsync(WorkerHeartbeat heartbeat, CancellationToken cancellationToken = default);

    /// <summary>Removes a worker that is stopping.</summary>
    /// <param name="workerId">The worker's id.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>A task that completes once the worker is removed.</returns>
    /// <exception cref="QueueUnavailableException">The backend cannot be reached.</exception>
    ValueTask RemoveAsync(string workerId, CancellationToken cancellationToken = default);

    /// <summary>Lists the workers whose last heartbeat has not expired at <paramref name="now"/>, by id.</summary>
    /// <param name="now">The instant to judge expiry at.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The workers' last heartbeats.</returns>
    /// <exception cref="QueueUnavailableException">The backend cannot be reached.</exception>
    ValueTask<IReadOnlyList<WorkerHeartbeat>> ListAsync(DateTimeOffset now, CancellationToken cancellationToken = default);
}

/// <summary>A worker's last heartbeat.</summary>
public sealed record WorkerHeartbeat
{
    /// <summary>The worker's id; jobs it runs carry it at the start of <see cref="GenerationJob.LeaseHolder"/>.</summary>
    public required string WorkerId { get; init; }

    /// <summary>The machine it runs on.</summary>
    public required string Host { get; init; }

    /// <summary>Its process id.</summary>
    public int ProcessId { get; init; }

    /// <summary>When it started.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>When this heartbeat was sent.</summary>
    public required DateTimeOffset LastHeartbeatAt { get; init; }

    /// <summary>When the worker is to be taken for dead if no later heartbeat arrives.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>How many jobs it runs at once at most.</summary>
    public int Concurrency { get; init; }

    /// <summary>How many jobs it was running at the heartbeat.</summary>
    public int Running { get; init; }
}
