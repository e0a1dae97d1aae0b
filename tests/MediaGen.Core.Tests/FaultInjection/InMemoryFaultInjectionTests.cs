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
