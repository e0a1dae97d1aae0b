using MediaGen.Core.Tests.FaultInjection;

namespace MediaGen.PostgreSql.Tests;

/// <summary>The lifecycle fault-injection harness on PostgreSQL with its one-transaction steps, each run in its own schema.</summary>
[RequiresServer(PostgresTestServer.Variable)]
public sealed class PostgresFaultInjectionTests : LifecycleFaultInjectionTests
{
    protected override int RandomSchedules => 150;

    protected override ValueTask<FaultBackend> CreateBackendAsync(FakeTimeProvider time, long initialBalance) =>
        ValueTask.FromResult(PostgresFaultBackend.Create(time, initialBalance, atomic: true));
}

/// <summary>The same PostgreSQL seams composed one by one, as when the queue comes from another system.</summary>
[RequiresServer(PostgresTestServer.Variable)]
public sealed class PostgresComposedFaultInjectionTests : LifecycleFaultInjectionTests
{
    protected override int RandomSchedules => 100;

    protected override ValueTask<FaultBackend> CreateBackendAsync(FakeTimeProvider time, long initialBalance) =>
        ValueTask.FromResult(PostgresFaultBackend.Create(time, initialBalance, atomic: false));
}

/// <summary>An owner's delete racing the owner's retry, on PostgreSQL with its one-transaction steps.</summary>
[RequiresServer(PostgresTestServer.Variable)]
public sealed class PostgresDeleteRetryRaceTests : DeleteRetryRaceTests
{
    protected override ValueTask<FaultBackend> CreateBackendAsync(FakeTimeProvider time, long initialBalance) =>
        ValueTask.FromResult(PostgresFaultBackend.Create(time, initialBalance, atomic: true));
}

/// <summary>The same race with the PostgreSQL seams composed one by one.</summary>
[RequiresServer(PostgresTestServer.Variable)]
public sealed class PostgresComposedDeleteRetryRaceTests : DeleteRetryRaceTests
{
    protected override ValueTask<FaultBackend> CreateBackendAsync(FakeTimeProvider time, long initialBalance) =>
        ValueTask.FromResult(PostgresFaultBackend.Create(time, initialBalance, atomic: false));
}

internal static class PostgresFaultBackend
{
    public static FaultBackend Create(FakeTimeProvider time, long initialBalance, bool atomic)
    {
        var databases = new PostgresComplianceDatabases(time);
        var database = databases.Connect();
        var queue = PostgresTestServer.Queue(database, PostgresTestServer.Options(databases.Schema, LifecycleFaultHarness.LeaseDuration));
        var ledger = new PostgresCreditLedger(database, () => initialBalance);
        var events = new PostgresJobEventStream(database, NullLogger<PostgresJobEventStream>.Instance);
        var outbox = new PostgresWebhookOutbox(database);
        return new FaultBackend(
            new PostgresJobStore(database),
            ledger,
            queue,
            events,
            atomic ? new PostgresJobLifecycleStore(database, queue, ledger, events, NullLogger.Instance, outbox) : null,
            databases,
            queue) { Outbox = outbox };
    }
}
