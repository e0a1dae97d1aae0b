using MediaGen.Core.Tests.FaultInjection;
using MediaGen.Internal;

namespace MediaGen.PostgreSql.Tests;

/// <summary>
/// Deliveries the worker hands back on purpose (a provider pause) through the PostgreSQL lifecycle steps: they are not
/// counted toward MaxDeliveryCount, so a long pause never fails a job that has not run.
/// </summary>
public sealed class PostgresDeferredDeliveryTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));

    [ServerFact(PostgresTestServer.Variable)]
    public async Task ProviderPause_OverMoreDeliveriesThanMaxDeliveryCount_JobWaitsUncountedThenRuns()
    {
        await using var databases = new PostgresComplianceDatabases(_time);
        var database = databases.Connect();
        var queue = PostgresTestServer.Queue(database, PostgresTestServer.Options(databases.Schema));
        await using var _ = queue;
        var store = new PostgresJobStore(database);
        var ledger = new PostgresCreditLedger(database, () => 100);
        var events = new PostgresJobEventStream(database, NullLogger<PostgresJobEventStream>.Instance);
        var lifecycleStore = new PostgresJobLifecycleStore(database, queue, ledger, events, NullLogger.Instance);
        await using var services = WorkerScenarios.Services(_time, queue, store, ledger, events, lifecycleStore);

        await WorkerScenarios.PauseOutlastingTheDeliveryLimitAsync(services, queue, store, _time);
    }
}
