using System.Collections.Concurrent;

namespace Acme.DictionaryStore;

/// <summary>A provider pause store in one dictionary: the deadline of each provider's 429 pause, which only moves later.</summary>
public sealed class DictionaryProviderPauseStore : IProviderPauseStore
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _pauses = new(StringComparer.Ordinal);

    public ValueTask<DateTimeOffset> ExtendAsync(string provider, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        return ValueTask.FromResult(_pauses.AddOrUpdate(provider, until, (_, current) => current >= until ? current : until));
    }

    public ValueTask<DateTimeOffset?> GetAsync(string provider, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        return ValueTask.FromResult(_pauses.TryGetValue(provider, out var until) ? until : (DateTimeOffset?)null);
    }
}
