namespace MediaGen.Queue.Redis.Tests.Compliance;

[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisJobLifecycleStoreComplianceTests : JobLifecycleStoreComplianceTests
{
    protected override bool LeasesCarryTheirJob => true;

    protected override async ValueTask<LifecycleBackend> CreateBackendAsync(long initialBalance)
    {
        var connections = Track(new RedisComplianceConnections());
        var connection = await connections.ConnectAsync();
        var options = RedisTestServer.Options(connections.Prefix, LeaseDuration);
        var queue = RedisTestServer.Queue(connection, options, Time);
        var ledger = new RedisCreditLedger(connection, options, () => initialBalance, Time);
        var events = new RedisJobEventStream(connection, options, NullLogger<RedisJobEventStream>.Instance);
        var lifecycle = new RedisJobLifecycleStore(connection, queue, ledger, events, options, Time, NullLogger.Instance);
        return new LifecycleBackend(lifecycle, new RedisJobStore(connection, options, Time), ledger, queue, events, queue);
    }
}
