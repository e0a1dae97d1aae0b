using MediaGen.Testing;
using MediaGen.Queue.Redis.Internal;

namespace MediaGen.Queue.Redis.Tests.Compliance;

[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisWorkerRegistryComplianceTests : WorkerRegistryComplianceTests
{
    private RedisComplianceConnections? _connections;

    protected override ValueTask<IWorkerRegistry> CreateRegistryAsync()
    {
        _connections ??= Track(new RedisComplianceConnections());
        return CreateClientAsync();
    }

    protected override ValueTask<IWorkerRegistry> CreatePeerRegistryAsync(IWorkerRegistry registry) => CreateClientAsync();

    private async ValueTask<IWorkerRegistry> CreateClientAsync() =>
        new RedisWorkerRegistry(await _connections!.ConnectAsync(), RedisTestServer.Options(_connections.Prefix));
}
