namespace MediaGen.Core.Tests.Compliance;

public sealed class InMemoryJobCancelSignalTests : JobCancelSignalComplianceTests
{
    protected override ValueTask<IJobCancelSignal> CreateSignalAsync() => ValueTask.FromResult<IJobCancelSignal>(new InMemoryJobCancelSignal());
}
