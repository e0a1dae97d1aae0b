namespace MediaGen.Queue.Redis.Tests.Compliance;

[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisCreditLedgerComplianceTests : CreditLedgerComplianceTests
{
    protected override async ValueTask<ICreditLedger> CreateLedgerAsync(long initialBalance)
    {
        var connections = Track(new RedisComplianceConnections());
        return new RedisCreditLedger(await connections.ConnectAsync(), RedisTestServer.Options(connections.Prefix), () => initialBalance, Time);
    }
}
