using System.Collections.Concurrent;

namespace MediaGen.Internal;

/// <summary>The in-memory <see cref="IProviderPauseStore"/>: each provider's latest deadline, for this process.</summary>
internal sealed class InMemoryProviderPauseStore : IProviderPauseStore
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _deadlines = new(StringComparer.Ordinal);

    public ValueTask<DateTimeOffset> ExtendAsync(string provider, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_deadlines.AddOrUpdate(provider, static (_, until) => until, static (_, existing, until) => until > existing ? until : existing, until));
    }

    public ValueTask<DateTimeOffset?> GetAsync(string provider, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult<DateTimeOffset?>(_deadlines.TryGetValue(provider, out var until) ? until : null);
    }
}
