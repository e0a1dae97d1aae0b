using System.Collections.Concurrent;

namespace MediaGen.Internal;

/// <summary>The in-memory <see cref="IResultCacheIndex"/>: this process's entries, each with its expiry on the <see cref="TimeProvider"/>.</summary>
internal sealed class InMemoryResultCacheIndex(TimeProvider timeProvider) : IResultCacheIndex
{
    /// <summary>Past this many entries a write first drops the expired ones.</summary>
    private const int PruneThreshold = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public ValueTask<string?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (!_entries.TryGetValue(key, out var entry))
        {
            return ValueTask.FromResult<string?>(null);
        }

        if (entry.ExpiresAt <= timeProvider.GetUtcNow())
        {
            _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            return ValueTask.FromResult<string?>(null);
        }

        return ValueTask.FromResult<string?>(entry.JobId);
    }

    public ValueTask SetAsync(string key, string jobId, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        var now = timeProvider.GetUtcNow();
        if (_entries.Count >= PruneThreshold)
        {
            foreach (var (k, e) in _entries)
            {
                if (e.ExpiresAt <= now)
                {
                    _entries.TryRemove(new KeyValuePair<string, Entry>(k, e));
                }
            }
        }

        _entries[key] = new Entry(jobId, now + timeToLive);
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> RemoveAsync(string key, string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var removed = _entries.TryGetValue(key, out var entry)
            && string.Equals(entry.JobId, jobId, StringComparison.Ordinal)
            && _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
        return ValueTask.FromResult(removed);
    }

    private sealed record Entry(string JobId, DateTimeOffset ExpiresAt);
}
