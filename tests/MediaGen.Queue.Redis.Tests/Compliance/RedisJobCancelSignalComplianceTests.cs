using MediaGen.Testing;
using MediaGen.Internal;

namespace MediaGen.Queue.Redis.Tests.Compliance;

[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisJobCancelSignalComplianceTests : JobCancelSignalComplianceTests
{
    private RedisComplianceConnections? _connections;

    protected override ValueTask<IJobCancelSignal> CreateSignalAsync()
    {
        _connections ??= Track(new RedisComplianceConnections());
        return CreateClientAsync();
    }

    protected override ValueTask<IJobCancelSignal> CreatePeerSignalAsync(IJobCancelSignal signal) => CreateClientAsync();

    private async ValueTask<IJobCancelSignal> CreateClientAsync() =>
        new RedisJobCancelSignal(await _connections!.ConnectAsync(), RedisTestServer.Options(_connections.Prefix));
}
