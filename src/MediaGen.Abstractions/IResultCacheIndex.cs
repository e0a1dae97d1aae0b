namespace MediaGen;

/// <summary>
/// The result cache's index: a request's cache key (a SHA-256 of its model, prompts, settings, parameters and fixed
/// seed) to the id of a succeeded job that produced it. Plain key/value with a time to live, shared by every process
/// that shares the backend (Redis, PostgreSQL) or kept per process (in memory).
/// </summary>
/// <remarks>
/// The index is written after a job succeeds and is not part of any lifecycle step: an entry may name a job that was
/// deleted since. Readers treat such an entry as a miss and remove it with <see cref="RemoveAsync"/>, which removes only
/// while the entry still names that job, so a newer entry written meanwhile is kept.
/// </remarks>
public interface IResultCacheIndex
{
    /// <summary>Gets the job id recorded for <paramref name="key"/>, while its time to live lasts.</summary>
    /// <param name="key">The cache key.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The job id, or null when nothing live is recorded.</returns>
    ValueTask<string?> GetAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Records <paramref name="jobId"/> for <paramref name="key"/>, replacing what was there, for <paramref name="timeToLive"/>.</summary>
    /// <param name="key">The cache key.</param>
    /// <param name="jobId">The succeeded job's id.</param>
    /// <param name="timeToLive">How long the entry is served, from now (the implementation's <see cref="TimeProvider"/>).</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>A task that completes once the entry is recorded.</returns>
    ValueTask SetAsync(string key, string jobId, TimeSpan timeToLive, CancellationToken cancellationToken = default);

    /// <summary>Removes the entry for <paramref name="key"/> if it still names <paramref name="jobId"/>.</summary>
    /// <param name="key">The cache key.</param>
    /// <param name="jobId">The job the caller found missing or unusable.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns><see langword="true"/> when an entry naming <paramref name="jobId"/> was removed.</returns>
    ValueTask<bool> RemoveAsync(string key, string jobId, CancellationToken cancellationToken = default);
}
