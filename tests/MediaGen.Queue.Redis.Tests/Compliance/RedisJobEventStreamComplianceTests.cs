using MediaGen.Testing;
using MediaGen.Internal;
using Microsoft.Extensions.Logging.Abstractions;

namespace MediaGen.Queue.Redis.Tests.Compliance;

[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisJobEventStreamComplianceTests : JobEventStreamComplianceTests
{
    private RedisComplianceConnections? _connections;

    protected override ValueTask<IJobEventStream> CreateEventStreamAsync()
    {
        _connections ??= Track(new RedisComplianceConnections());
        return CreateClientAsync();
    }

    protected override ValueTask<IJobEventStream> CreatePeerEventStreamAsync(IJobEventStream stream) => CreateClientAsync();

    private async ValueTask<IJobEventStream> CreateClientAsync() =>
        new RedisJobEventStream(await _connections!.ConnectAsync(), RedisTestServer.Options(_connections.Prefix), NullLogger<RedisJobEventStream>.Instance);
}
