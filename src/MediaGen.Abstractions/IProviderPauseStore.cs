namespace MediaGen;

/// <summary>
/// Where the deadlines of providers' rate-limit pauses are kept, so that a 429 one worker gets pauses every call to that
/// provider in every process sharing the backend. A backend that shares state between processes (Redis) shares the
/// deadlines; the in-memory default keeps them for the process.
/// </summary>
/// <remarks>
/// A deadline only ever moves later: a shorter pause asked for while a longer one is in force changes nothing. Deadlines
/// are instants of the callers' clocks (<see cref="TimeProvider"/>), kept to the millisecond and never rounded earlier;
/// a deadline that has passed may be forgotten.
/// </remarks>
public interface IProviderPauseStore
{
    /// <summary>
    /// Pauses <paramref name="provider"/> until <paramref name="until"/>, unless a later deadline is already recorded,
    /// atomically with respect to every other caller.
    /// </summary>
    /// <param name="provider">The provider's generator name, such as <c>replicate</c>.</param>
    /// <param name="until">The instant calls may go ahead again.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The deadline in force after the call: <paramref name="until"/> or the later one already recorded.</returns>
    /// <exception cref="QueueUnavailableException">The backend cannot be reached.</exception>
    ValueTask<DateTimeOffset> ExtendAsync(string provider, DateTimeOffset until, CancellationToken cancellationToken = default);

    /// <summary>Reads the latest deadline recorded for <paramref name="provider"/>.</summary>
    /// <param name="provider">The provider's generator name.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The deadline, which may have passed; null when none is recorded.</returns>
    /// <exception cref="QueueUnavailableException">The backend cannot be reached.</exception>
    ValueTask<DateTimeOffset?> GetAsync(string provider, CancellationToken cancellationToken = default);
}
