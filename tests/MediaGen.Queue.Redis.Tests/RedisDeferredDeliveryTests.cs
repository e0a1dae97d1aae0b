using MediaGen.Core.Tests.FaultInjection;

namespace MediaGen.Queue.Redis.Tests;

/// <summary>
/// Deliveries the worker hands back on purpose (a provider pause) through the Redis lifecycle scripts: they are not
/// counted toward MaxDeliveryCount, so a long pause never fails a job that has not run.
/// </summary>
public sealed class RedisDeferredDeliveryTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));

    [ServerFact(RedisTestServer.Variable)]
    public async Task ProviderPause_OverMoreDeliveriesThanMaxDeliveryCount_JobWaitsUncountedThenRuns()
    {
        var (connection, multiplexer) = await RedisTestServer.ConnectAsync();
        await using var _ = multiplexer;
        var options = RedisTestServer.Options(RedisTestServer.NewPrefix(), TimeSpan.FromSeconds(30));
        var store = new RedisJobStore(connection, options, _time);
        var ledger = new RedisCreditLedger(connection, options, () => 100, _time);
        await using var queue = RedisTestServer.Queue(connection, options, _time);
        var events = new RedisJobEventStream(connection, options, NullLogger<RedisJobEventStream>.Instance);
        var lifecycleStore = new RedisJobLifecycleStore(connection, queue, ledger, events, options, _time, NullLogger.Instance);
        await using var services = WorkerScenarios.Services(_time, queue, store, ledger, events, lifecycleStore);

        await WorkerScenarios.PauseOutlastingTheDeliveryLimitAsync(services, queue, store, _time);
    }
}
