namespace MediaGen.Core.Tests.Compliance;

public sealed class InMemoryJobQueueTests : JobQueueComplianceTests
{
    protected override ValueTask<IJobQueue> CreateQueueAsync(TimeSpan leaseDuration) =>
        ValueTask.FromResult<IJobQueue>(new InMemoryJobQueue(Options.Create(new InMemoryJobQueueOptions { LeaseDuration = leaseDuration }), Time));
}
