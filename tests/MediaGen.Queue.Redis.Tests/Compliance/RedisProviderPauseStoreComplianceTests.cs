using MediaGen.Testing;
using MediaGen.Internal;

namespace MediaGen.Queue.Redis.Tests.Compliance;

[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisProviderPauseStoreComplianceTests : ProviderPauseStoreComplianceTests
{
    private RedisComplianceConnections? _connections;

    protected override ValueTask<IProviderPauseStore> CreateStoreAsync()
    {
        _connections ??= Track(new RedisComplianceConnections());
        return CreateClientAsync();
    }

    protected override ValueTask<IProviderPauseStore> CreatePeerStoreAsync(IProviderPauseStore store) => CreateClientAsync();

    private async ValueTask<IProviderPauseStore> CreateClientAsync() =>
        new RedisProviderPauseStore(await _connections!.ConnectAsync(), RedisTestServer.Options(_connections.Prefix), Time);
}
