namespace MediaGen.Core.Tests.Compliance;

public sealed class InMemoryJobLifecycleStoreTests : JobLifecycleStoreComplianceTests
{
    protected override ValueTask<LifecycleBackend> CreateBackendAsync(long initialBalance)
    {
        var (store, ledger, queue, events) = InMemorySeams.Create(Time, initialBalance, LeaseDuration);
        var lifecycle = new InMemoryJobLifecycleStore(store, ledger, queue, events, NullLogger<InMemoryJobLifecycleStore>.Instance);
        return ValueTask.FromResult(new LifecycleBackend(lifecycle, store, ledger, queue, events, queue));
    }
}

/// <summary>The composed store passes the same contract over separate seams (here the in-memory ones, composed).</summary>
public sealed class ComposedJobLifecycleStoreTests : JobLifecycleStoreComplianceTests
{
    protected override bool IsAtomic => false;

    protected override ValueTask<LifecycleBackend> CreateBackendAsync(long initialBalance)
    {
        var (store, ledger, queue, events) = InMemorySeams.Create(Time, initialBalance, LeaseDuration);
        var lifecycle = new ComposedJobLifecycleStore(store, ledger, queue, events, NullLogger<ComposedJobLifecycleStore>.Instance);
        return ValueTask.FromResult(new LifecycleBackend(lifecycle, store, ledger, queue, events, queue));
    }
}

internal static class InMemorySeams
{
    public static (InMemoryJobStore Store, InMemoryCreditLedger Ledger, InMemoryJobQueue Queue, InMemoryJobEventStream Events) Create(TimeProvider time, long initialBalance, TimeSpan leaseDuration) => (
        new InMemoryJobStore(time),
        new InMemoryCreditLedger(Options.Create(new CreditLedgerOptions { InitialBalance = initialBalance }), time),
        new InMemoryJobQueue(Options.Create(new InMemoryJobQueueOptions { LeaseDuration = leaseDuration }), time),
        new InMemoryJobEventStream());
}
