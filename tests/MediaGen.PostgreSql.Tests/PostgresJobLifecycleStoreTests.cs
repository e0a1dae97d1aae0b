namespace MediaGen.PostgreSql.Tests;

/// <summary>What the lifecycle store does in PostgreSQL beyond the compliance suite: steps that carry a webhook delivery.</summary>
public sealed class PostgresJobLifecycleStoreTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));

    [ServerFact(PostgresTestServer.Variable)]
    public async Task CommitAsync_WebhookAndPrecedingEvent_AddsTheDeliveryAndPublishesBothEventsInOrder()
    {
        await using var databases = new PostgresComplianceDatabases(_time);
        var database = databases.Connect();
        var queue = PostgresTestServer.Queue(database, PostgresTestServer.Options(databases.Schema));
        await using var _ = queue;
        var events = new PostgresJobEventStream(database, NullLogger<PostgresJobEventStream>.Instance);
        var outbox = new PostgresWebhookOutbox(database);
        var lifecycle = new PostgresJobLifecycleStore(database, queue, new PostgresCreditLedger(database, () => 100), events, NullLogger.Instance, outbox);
        var job = new GenerationJob
        {
            Id = "job-" + Guid.NewGuid().ToString("N"),
            Request = new GenerationRequest { Prompt = "a lighthouse", Model = "procedural", OwnerId = "owner-a" },
            CreatedAt = _time.GetUtcNow(),
            UpdatedAt = _time.GetUtcNow(),
            Version = 1,
            CreditsCharged = 10,
        };
        await lifecycle.SubmitAsync(new JobSubmission { Job = job, Credits = 10, Message = new QueueMessage(job.Id), Event = Event(job, JobEventType.Queued) });
        var lease = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(5)));

        var applied = await lifecycle.CommitAsync(new JobCommit
        {
            JobId = job.Id,
            OwnerId = job.OwnerId,
            Job = job with { Status = JobStatus.Succeeded, Version = 2 },
            ExpectedVersion = 1,
            Settlement = 0,
            Lease = new LeaseSettlement(lease, LeaseAction.Complete),
            PrecedingEvent = Event(job, JobEventType.OutputStored),
            Event = Event(job, JobEventType.Succeeded),
            Webhook = new WebhookDelivery { Id = job.Id + ".succeeded", JobId = job.Id, Payload = "{}" },
        });

        Assert.True(applied);
        Assert.Equal(
            [(1L, JobEventType.Queued), (2L, JobEventType.OutputStored), (3L, JobEventType.Succeeded)],
            (await events.GetHistoryAsync(job.Id, 0)).Select(e => (e.Sequence, e.Type)));
        Assert.NotNull(await outbox.GetAsync(job.Id + ".succeeded"));
        Assert.Equal(JobStatus.Succeeded, (await new PostgresJobStore(database).GetAsync(job.Id))!.Status);
    }

    private JobEvent Event(GenerationJob job, JobEventType type) =>
        new() { JobId = job.Id, OwnerId = job.OwnerId, Type = type, Timestamp = _time.GetUtcNow(), Status = job.Status };
}
