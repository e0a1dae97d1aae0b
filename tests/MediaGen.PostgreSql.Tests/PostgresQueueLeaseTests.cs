namespace MediaGen.PostgreSql.Tests;

public sealed class PostgresQueueLeaseTests : ComplianceTestBase
{
    [ServerFact(PostgresTestServer.Variable)]
    public async Task ReceiveAsync_MessageWithoutItsJob_LeaseCarriesNoJob()
    {
        var (_, queue) = Create();
        await queue.EnqueueAsync(new QueueMessage("no-such-job"));

        var lease = await ReceiveCarryingAsync(queue);

        Assert.Equal(("no-such-job", null), (lease.Message.JobId, lease.Job));
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task ReceiveAsync_QueueWithoutTheLifecycleStore_LeaseCarriesNoJob()
    {
        var (lifecycle, queue) = Create();
        var job = await SubmitAsync(lifecycle);
        queue.ReadsJobs = false;

        var lease = await ReceiveCarryingAsync(queue);

        Assert.Equal((job.Id, null), (lease.Message.JobId, lease.Job));
    }

    private (PostgresJobLifecycleStore Lifecycle, PostgresJobQueue Queue) Create()
    {
        var databases = Track(new Compliance.PostgresComplianceDatabases(Time));
        var database = databases.Connect();
        var queue = PostgresTestServer.Queue(database, PostgresTestServer.Options(databases.Schema));
        var ledger = new PostgresCreditLedger(database, () => 100);
        var events = new PostgresJobEventStream(database, NullLogger<PostgresJobEventStream>.Instance);
        return (new PostgresJobLifecycleStore(database, queue, ledger, events, NullLogger.Instance), queue);
    }

    private async Task<GenerationJob> SubmitAsync(PostgresJobLifecycleStore lifecycle)
    {
        var job = new GenerationJob
        {
            Id = NewJobId(),
            Request = new GenerationRequest { Prompt = "a lighthouse", Model = "procedural", OwnerId = "owner" },
            CreatedAt = Time.GetUtcNow(),
            UpdatedAt = Time.GetUtcNow(),
            Version = 1,
        };
        return (await lifecycle.SubmitAsync(new JobSubmission { Job = job, Credits = 1, Message = new QueueMessage(job.Id) })).Job;
    }

    private static async Task<IJobCarryingLease> ReceiveCarryingAsync(PostgresJobQueue queue) =>
        Assert.IsAssignableFrom<IJobCarryingLease>(Assert.Single(await queue.ReceiveAsync(1, TimeSpan.Zero)));
}
