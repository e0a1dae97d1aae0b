using MediaGen.Core.Tests.FaultInjection;

namespace MediaGen.Queue.Redis.Tests;

/// <summary>The lifecycle fault-injection harness on Redis with its one-script steps, each run under its own key prefix.</summary>
[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisFaultInjectionTests : LifecycleFaultInjectionTests
{
    protected override int RandomSchedules => 300;

    protected override ValueTask<FaultBackend> CreateBackendAsync(FakeTimeProvider time, long initialBalance) =>
        RedisFaultBackend.CreateAsync(time, initialBalance, atomic: true);
}

/// <summary>The same Redis seams composed one by one, as when the queue comes from another system.</summary>
[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisComposedFaultInjectionTests : LifecycleFaultInjectionTests
{
    protected override int RandomSchedules => 200;

    protected override ValueTask<FaultBackend> CreateBackendAsync(FakeTimeProvider time, long initialBalance) =>
        RedisFaultBackend.CreateAsync(time, initialBalance, atomic: false);
}

/// <summary>An owner's delete racing the owner's retry, on Redis with its one-script steps.</summary>
[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisDeleteRetryRaceTests : DeleteRetryRaceTests
{
    protected override ValueTask<FaultBackend> CreateBackendAsync(FakeTimeProvider time, long initialBalance) =>
        RedisFaultBackend.CreateAsync(time, initialBalance, atomic: true);
}

/// <summary>The same race with the Redis seams composed one by one.</summary>
[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisComposedDeleteRetryRaceTests : DeleteRetryRaceTests
{
    protected override ValueTask<FaultBackend> CreateBackendAsync(FakeTimeProvider time, long initialBalance) =>
        RedisFaultBackend.CreateAsync(time, initialBalance, atomic: false);
}

internal static class RedisFaultBackend
{
    public static async ValueTask<FaultBackend> CreateAsync(FakeTimeProvider time, long initialBalance, bool atomic)
    {
        var connections = new RedisComplianceConnections();
        var options = RedisTestServer.Options(connections.Prefix, LifecycleFaultHarness.LeaseDuration);
        var connection = await connections.ConnectAsync();
        var queue = RedisTestServer.Queue(connection, options, time);
        var ledger = new RedisCreditLedger(connection, options, () => initialBalance, time);
        var events = new RedisJobEventStream(connection, options, NullLogger<RedisJobEventStream>.Instance);
        var outbox = new RedisWebhookOutbox(connection, options, time);
        return new FaultBackend(
            new RedisJobStore(connection, options, time),
            ledger,
            queue,
            events,
            atomic ? new RedisJobLifecycleStore(connection, queue, ledger, events, options, time, NullLogger.Instance, outbox) : null,
            connections,
            queue) { Outbox = outbox };
    }
}
