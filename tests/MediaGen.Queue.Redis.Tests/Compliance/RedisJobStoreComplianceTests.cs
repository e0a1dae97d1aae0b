namespace MediaGen.Queue.Redis.Tests.Compliance;

[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisJobStoreComplianceTests : JobStoreComplianceTests
{
    protected override async ValueTask<IJobStore> CreateStoreAsync()
    {
        var connections = Track(new RedisComplianceConnections());
        return new RedisJobStore(await connections.ConnectAsync(), RedisTestServer.Options(connections.Prefix), Time);
    }
}
