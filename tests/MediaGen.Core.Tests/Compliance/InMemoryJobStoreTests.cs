namespace MediaGen.Core.Tests.Compliance;

public sealed class InMemoryJobStoreTests : JobStoreComplianceTests
{
    protected override ValueTask<IJobStore> CreateStoreAsync() => ValueTask.FromResult<IJobStore>(new InMemoryJobStore(Time));
}
