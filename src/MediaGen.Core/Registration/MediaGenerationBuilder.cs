using Microsoft.Extensions.DependencyInjection;

namespace MediaGen.Internal;

internal sealed class MediaGenerationBuilder(IServiceCollection services, SeamSelections selections) : IMediaGenerationBuilder
{
    public IServiceCollection Services { get; } = services;

    public SeamSelections Selections { get; } = selections;
}

/// <summary>
/// Records which implementation type each seam uses, so a second choice fails loudly, naming both, instead of silently
/// winning.
/// </summary>
internal sealed class SeamSelections
{
    private readonly Dictionary<MediaGenerationSeam, Type> _selected = [];

    /// <summary>Backends' lifecycle store factories, asked in order; see <see cref="LifecycleStoreSelection"/>.</summary>
    public List<Func<IServiceProvider, IJobLifecycleStore?>> LifecycleStores { get; } = [];

    public void Select(MediaGenerationSeam seam, Type implementation)
    {
        if (_selected.TryGetValue(seam, out var existing))
        {
            throw new InvalidOperationException(
                $"MediaGen's {Describe(seam)} is already configured to use {Name(existing)}; it cannot also use {Name(implementation)}. Choose one.");
        }

        _selected[seam] = implementation;
    }

    // The type and the package it comes from, such as 'RedisJobQueue' (MediaGen.Queue.Redis).
    private static string Name(Type type) => $"'{type.Name}' ({type.Assembly.GetName().Name})";

    private static string Describe(MediaGenerationSeam seam) => seam switch
    {
        MediaGenerationSeam.Queue => "queue",
        MediaGenerationSeam.JobStore => "job store",
        MediaGenerationSeam.CreditLedger => "credit ledger",
        MediaGenerationSeam.EventStream => "event stream",
        MediaGenerationSeam.CancelSignal => "cancel signal",
        MediaGenerationSeam.ProviderPauseStore => "provider pause store",
        MediaGenerationSeam.WorkerRegistry => "worker registry",
        MediaGenerationSeam.ResultCacheIndex => "result cache index",
        _ => "storage",
    };
}

/// <summary>
/// Picks the <see cref="IJobLifecycleStore"/>: the first backend that recognises every resolved seam as its own makes
/// its steps atomic; the in-memory seams are their own backend; anything else is composed from the four seams.
/// </summary>
internal static class LifecycleStoreSelection
{
    public static IJobLifecycleStore Create(IServiceProvider services, SeamSelections selections)
    {
        foreach (var factory in selections.LifecycleStores)
        {
            if (factory(services) is { } store)
            {
                return store;
            }
        }

        var jobs = services.GetRequiredService<IJobStore>();
        var ledger = services.GetRequiredService<ICreditLedger>();
        var queue = services.GetRequiredService<IJobQueue>();
        var events = services.GetRequiredService<IJobEventStream>();
        return jobs is InMemoryJobStore inMemoryJobs && ledger is InMemoryCreditLedger inMemoryLedger && queue is InMemoryJobQueue inMemoryQueue
            ? ActivatorUtilities.CreateInstance<InMemoryJobLifecycleStore>(services, inMemoryJobs, inMemoryLedger, inMemoryQueue, events)
            : ActivatorUtilities.CreateInstance<ComposedJobLifecycleStore>(services, jobs, ledger, queue, events);
    }
}
