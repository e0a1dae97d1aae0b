using MediaGen.Compliance;
using MediaGen.Core.Tests.FaultInjection;
using MediaGen.Internal;
using MediaGen.Queue.Redis.Tests.Compliance;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace MediaGen.Queue.Redis.Tests;

/// <summary>
/// The lifecycle fault-injection harness over Redis seams composed one by one (as with a queue from another system),
/// each run under its own key prefix. Every process of a run gets its own Redis clients, as separate processes would.
/// </summary>
[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisComposedFaultInjectionTests : LifecycleFaultInjectionTests
{
    protected override int RandomSchedules => 200;

    protected override async ValueTask<FaultBackend> CreateBackendAsync(FakeTimeProvider time, long initialBalance)
    {
        var connections = new RedisComplianceConnections();
        var options = RedisTestServer.Options(connections.Prefix, LifecycleFaultHarness.LeaseDuration);
        var connection = await connections.ConnectAsync();
        var queue = RedisTestServer.Queue(connection, options, time);
        return new FaultBackend(
            new RedisJobStore(connection, options, time),
            new RedisCreditLedger(connection, options, () => initialBalance, time),
            queue,
            new RedisJobEventStream(connection, options, NullLogger<RedisJobEventStream>.Instance),
            Atomic: null,
            connections,
            queue);
    }
}
