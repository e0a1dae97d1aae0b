namespace MediaGen.Queue.Redis.Tests.Compliance;

[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisJobQueueComplianceTests : JobQueueComplianceTests
{
    private readonly Dictionary<IJobQueue, TimeSpan> _leaseDurations = [];
    private RedisComplianceConnections? _connections;

    protected override async ValueTask<IJobQueue> CreateQueueAsync(TimeSpan leaseDuration)
    {
        _connections ??= Track(new RedisComplianceConnections());
        var queue = await CreateClientAsync(leaseDuration);
        _leaseDurations[queue] = leaseDuration;
        return queue;
    }

    protected override async ValueTask<IJobQueue> CreatePeerQueueAsync(IJobQueue queue) =>
        await CreateClientAsync(_leaseDurations[queue]);

    private async Task<IJobQueue> CreateClientAsync(TimeSpan leaseDuration)
    {
        var connection = await _connections!.ConnectAsync();
        return Track(RedisTestServer.Queue(connection, RedisTestServer.Options(_connections.Prefix, leaseDuration), Time));
    }
}
