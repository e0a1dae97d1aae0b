namespace MediaGen.Core.Tests.Compliance;

public sealed class InMemoryWorkerRegistryTests : WorkerRegistryComplianceTests
{
    protected override ValueTask<IWorkerRegistry> CreateRegistryAsync() => ValueTask.FromResult<IWorkerRegistry>(new InMemoryWorkerRegistry());
}
