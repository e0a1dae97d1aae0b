namespace MediaGen.Core.Tests.Compliance;

public sealed class InMemoryProviderPauseStoreTests : ProviderPauseStoreComplianceTests
{
    protected override ValueTask<IProviderPauseStore> CreateStoreAsync() => ValueTask.FromResult<IProviderPauseStore>(new InMemoryProviderPauseStore());
}
