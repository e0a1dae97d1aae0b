using MediaGen.Core.Tests.FaultInjection;
using MediaGen.Internal;

namespace MediaGen.PostgreSql.Tests;

/// <summary>
/// The worker over the PostgreSQL seams and one-statement lifecycle steps, one delivery at a time on a fake clock: what
/// it does with deliveries handed back on purpose, and with a job the receive read in an older snapshot than the message.
/// </summary>
public sealed class PostgresWorkerDeliveryTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));

    /// <summary>Deliveries handed back for a provider's pause are not counted toward MaxDeliveryCount.</summary>
    [ServerFact(PostgresTestServer.Variable)]
    public async Task ProviderPause_OverMoreDeliveriesThanMaxDeliveryCount_JobWaitsUncountedThenRuns()
    {
        await using var databases = new PostgresComplianceDatabases(_time);
        var (queue, store, services) = Backend(databases);
        await using var _ = queue;
        await using var __ = services;

        await WorkerScenarios.PauseOutlastingTheDeliveryLimitAsync(services, queue, store, _time);
    }

    /// <summary>
    /// The receive statement reads each leased message's job in a subquery of the outer SELECT, which sees the snapshot
    /// taken when the statement started, while <c>queue_receive</c> leases messages with newer snapshots. A retry committed
    /// in between hands the worker the new run's message with the job as it was before the retry.
    /// </summary>
    [ServerFact(PostgresTestServer.Variable)]
    public async Task Receive_RetryCommittedWhileTheReceiveRuns_WorkerRunsTheRetriedRun()
    {
        await using var databases = new PostgresComplianceDatabases(_time);
        var (queue, store, services) = Backend(databases);
        await using var _ = queue;
        await using var __ = services;
        var client = services.GetRequiredService<IMediaGenerationClient>();
        var lifecycle = services.GetRequiredService<JobLifecycle>();
        var processor = services.GetRequiredService<JobProcessor>();

        // A job that failed for good in run 1; its message is completed.
        var submitted = await client.SubmitAsync(new GenerationRequest { Prompt = "a lighthouse", Model = "procedural", OwnerId = "alice" });
        var first = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.Zero));
        await lifecycle.FailAsync(submitted.Job, new JobError("bad_input", "no", Retryable: false), refund: true, first, deadLetter: false, requireHolder: null, exception: null);

        // Another group's delayed message falls due, so the next receive re-tags it and takes group 'g''s fair-share row.
        await queue.EnqueueAsync(new QueueMessage("other-job") { MessageId = "other", GroupId = "g" }, new EnqueueOptions { Delay = TimeSpan.FromSeconds(1) });
        _time.Advance(TimeSpan.FromSeconds(2));

        // Hold that row, so the receive statement (its snapshot taken) waits inside queue_receive.
        await using var blockerSource = NpgsqlDataSource.Create(PostgresTestServer.ConnectionString);
        await using var blocker = await blockerSource.OpenConnectionAsync();
        await using var tx = await blocker.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand($"INSERT INTO \"{databases.Schema}\".queue_groups AS g (group_id, last_tag) VALUES ('g', 0) ON CONFLICT (group_id) DO UPDATE SET last_tag = g.last_tag", blocker, tx))
        {
            await hold.ExecuteNonQueryAsync();
        }

        var receiving = queue.ReceiveAsync(8, TimeSpan.Zero).AsTask();
        await PostgresLockWaits.WaitForAsync(blockerSource, "queue_receive", "The receive statement");

        // The owner retries the job while the receive statement waits: run 2, Pending, its message ready.
        var retried = await client.RetryAsync("alice", submitted.Job.Id);
        Assert.Equal((JobStatus.Pending, 2), (retried.Status, retried.Run));
        await tx.RollbackAsync();
        var leases = await receiving;
        var runTwo = Assert.Single(leases, l => l.Message.JobId == submitted.Job.Id);
        Assert.Equal(retried.RunId, runTwo.Message.MessageId);

        await processor.ProcessAsync(runTwo, CancellationToken.None);

        var done = (await store.GetAsync(submitted.Job.Id))!;
        Assert.Equal((JobStatus.Succeeded, 2, 1), (done.Status, done.Run, done.Attempt));
        await leases.Single(l => l.Message.JobId == "other-job").CompleteAsync();
        Assert.Equal(new QueueDepth(0, 0, 0, 0), await queue.GetDepthAsync());
    }

    private (PostgresJobQueue Queue, PostgresJobStore Store, ServiceProvider Services) Backend(PostgresComplianceDatabases databases)
    {
        var database = databases.Connect();
        var queue = PostgresTestServer.Queue(database, PostgresTestServer.Options(databases.Schema));
        var store = new PostgresJobStore(database);
        var ledger = new PostgresCreditLedger(database, () => 100);
        var events = new PostgresJobEventStream(database, NullLogger<PostgresJobEventStream>.Instance);
        var lifecycleStore = new PostgresJobLifecycleStore(database, queue, ledger, events, NullLogger.Instance);
        return (queue, store, WorkerScenarios.Services(_time, queue, store, ledger, events, lifecycleStore));
    }
}
