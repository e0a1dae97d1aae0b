namespace MediaGen.Core.Tests.Compliance;

public sealed class InMemoryResultCacheIndexTests : ResultCacheIndexComplianceTests
{
    protected override ValueTask<IResultCacheIndex> CreateIndexAsync() => ValueTask.FromResult<IResultCacheIndex>(new InMemoryResultCacheIndex(Time));
}
