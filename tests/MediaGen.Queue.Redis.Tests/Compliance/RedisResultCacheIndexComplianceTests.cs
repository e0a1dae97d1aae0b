using MediaGen.Testing;
using MediaGen.Queue.Redis.Internal;

namespace MediaGen.Queue.Redis.Tests.Compliance;

[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisResultCacheIndexComplianceTests : ResultCacheIndexComplianceTests
{
    private RedisComplianceConnections? _connections;

    protected override ValueTask<IResultCacheIndex> CreateIndexAsync()
    {
        _connections ??= Track(new RedisComplianceConnections());
        return CreateClientAsync();
    }

    protected override ValueTask<IResultCacheIndex> CreatePeerIndexAsync(IResultCacheIndex index) => CreateClientAsync();

    private async ValueTask<IResultCacheIndex> CreateClientAsync() =>
        new RedisResultCacheIndex(await _connections!.ConnectAsync(), RedisTestServer.Options(_connections.Prefix), Time);
}
