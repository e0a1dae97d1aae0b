namespace MediaGen.Queue.Redis.Tests;

/// <summary>Webhook deliveries kept in Redis survive the process that wrote them and are sent once by the others.</summary>
public sealed class RedisWebhookDeliveryTests
{
    [ServerFact(RedisTestServer.Variable)]
    public Task Outbox_ProcessStoppedBeforeSending_NextProcessSendsIt() =>
        WebhookDeliveriesAcrossHosts.UnsentDeliveryIsSentAfterARestartAsync(UseRedis(RedisTestServer.NewPrefix()));

    [ServerFact(RedisTestServer.Variable)]
    public Task Outbox_DispatcherDiedHoldingALease_AnotherSendsItOnceTheLeaseExpires() =>
        WebhookDeliveriesAcrossHosts.ExpiredLeaseIsSentByAnotherDispatcherAsync(UseRedis(RedisTestServer.NewPrefix()));

    [ServerFact(RedisTestServer.Variable)]
    public Task Outbox_TwoDispatchers_EachDeliverySentOnce() =>
        WebhookDeliveriesAcrossHosts.TwoDispatchersSendEachDeliveryOnceAsync(UseRedis(RedisTestServer.NewPrefix()));

    private static Action<IMediaGenerationBuilder> UseRedis(string prefix) =>
        b => b.UseRedisQueue(o => { o.Configuration = RedisTestServer.Address; o.KeyPrefix = prefix; });
}
