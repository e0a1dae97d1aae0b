namespace MediaGen.Core.Tests.Compliance;

public sealed class InMemoryJobEventStreamTests : JobEventStreamComplianceTests
{
    protected override ValueTask<IJobEventStream> CreateEventStreamAsync() => ValueTask.FromResult<IJobEventStream>(new InMemoryJobEventStream());
}
