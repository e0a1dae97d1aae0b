using MediaGen.Core.Tests.Compliance;

namespace MediaGen.Core.Tests.FaultInjection;

/// <summary>The in-memory backend: each step one critical section.</summary>
public sealed class InMemoryFaultInjectionTests : LifecycleFaultInjectionTests
{
    protected override ValueTask<FaultBackend> CreateBackendAsync(FakeTimeProvider time, long initialBalance)
    {
        var (store, ledger, queue, events) = InMemorySeams.Create(time, initialBalance, LifecycleFaultHarness.LeaseDuration);
        var outbox = new InMemoryWebhookOutbox(Options.Create(new WebhookOptions()), time);
        var atomic = new InMemoryJobLifecycleStore(store, ledger, queue, events, NullLogger<InMemoryJobLifecycleStore>.Instance, outbox);
        return ValueTask.FromResult(new FaultBackend(store, ledger, queue, events, atomic, queue) { Outbox = outbox });
    }
}

/// <summary>A mixed deployment: the same seams composed one by one, store first and lease last, reconciled by the sweeper.</summary>
public sealed class ComposedFaultInjectionTests : LifecycleFaultInjectionTests
{
    protected override ValueTask<FaultBackend> CreateBackendAsync(FakeTimeProvider time, long initialBalance)
    {
        var (store, ledger, queue, events) = InMemorySeams.Create(time, initialBalance, LifecycleFaultHarness.LeaseDuration);
        var outbox = new InMemoryWebhookOutbox(Options.Create(new WebhookOptions()), time);
        return ValueTask.FromResult(new FaultBackend(store, ledger, queue, events, Atomic: null, queue) { Outbox = outbox });
    }
}

/// <summary>An owner's delete racing the owner's retry, on the in-memory backend: each step one critical section.</summary>
public sealed class InMemoryDeleteRetryRaceTests : DeleteRetryRaceTests
{
    protected override ValueTask<FaultBackend> CreateBackendAsync(FakeTimeProvider time, long initialBalance)
    {
        var (store, ledger, queue, events) = InMemorySeams.Create(time, initialBalance, LifecycleFaultHarness.LeaseDuration);
        var atomic = new InMemoryJobLifecycleStore(store, ledger, queue, events, NullLogger<InMemoryJobLifecycleStore>.Instance);
        return ValueTask.FromResult(new FaultBackend(store, ledger, queue, events, atomic, queue));
    }
}

/// <summary>The same race with the in-memory seams composed one by one, as in a mixed deployment.</summary>
public sealed class ComposedDeleteRetryRaceTests : DeleteRetryRaceTests
{
    protected override ValueTask<FaultBackend> CreateBackendAsync(FakeTimeProvider time, long initialBalance)
    {
        var (store, ledger, queue, events) = InMemorySeams.Create(time, initialBalance, LifecycleFaultHarness.LeaseDuration);
        return ValueTask.FromResult(new FaultBackend(store, ledger, queue, events, Atomic: null, queue));
    }
}
