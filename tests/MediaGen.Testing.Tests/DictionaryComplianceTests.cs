using Acme.DictionaryStore;
using MediaGen.Testing;

namespace Acme.DictionaryStore.Tests;

// One line per contract: the suite supplies every test. A store that needed a server would add
// [RequiresServer("ACME_DB")] and read that variable in its Create method.

public sealed class DictionaryJobStoreComplianceTests : JobStoreComplianceTests
{
    protected override ValueTask<IJobStore> CreateStoreAsync() => ValueTask.FromResult<IJobStore>(new DictionaryJobStore());
}

public sealed class DictionaryProviderPauseStoreComplianceTests : ProviderPauseStoreComplianceTests
{
    protected override ValueTask<IProviderPauseStore> CreateStoreAsync() => ValueTask.FromResult<IProviderPauseStore>(new DictionaryProviderPauseStore());
}
