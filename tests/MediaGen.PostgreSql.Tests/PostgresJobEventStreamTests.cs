using MediaGen.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace MediaGen.PostgreSql.Tests;

public sealed class PostgresJobEventStreamTests : ComplianceTestBase
{
    [ServerFact(PostgresTestServer.Variable)]
    public async Task PublishAsync_EventLargerThanANotification_ArrivesWithItsTextsShortened()
    {
        var databases = Track(new Compliance.PostgresComplianceDatabases(Time));
        var stream = new PostgresJobEventStream(databases.Connect(), NullLogger<PostgresJobEventStream>.Instance);
        var peer = new PostgresJobEventStream(databases.Connect(), NullLogger<PostgresJobEventStream>.Instance);
        var jobId = NewJobId();
        await using var subscription = await EventSubscription.OpenLiveAsync(peer, stream, jobId, RealTimeout);
        var huge = new string('é', 9000);

        await stream.PublishAsync(new JobEvent
        {
            JobId = jobId,
            OwnerId = "owner",
            Type = JobEventType.Failed,
            Timestamp = Time.GetUtcNow(),
            Status = JobStatus.Failed,
            Message = huge,
            Error = new JobError(MediaGenErrorCodes.GeneratorPermanent, huge, Retryable: false),
        });

        var received = Assert.Single(await subscription.NextAsync(1));
        Assert.Equal((JobEventType.Failed, JobStatus.Failed, MediaGenErrorCodes.GeneratorPermanent), (received.Type, received.Status, received.Error!.Code));
        Assert.StartsWith(huge[..500], received.Message, StringComparison.Ordinal);
        Assert.InRange(received.Message!.Length, 500, 501);
        Assert.InRange(received.Error.Message.Length, 500, 501);
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task PublishAsync_AJobsFirstEvent_DropsHistoriesPastTheirRetention()
    {
        var databases = Track(new Compliance.PostgresComplianceDatabases(Time));
        var stream = new PostgresJobEventStream(databases.Connect(), NullLogger<PostgresJobEventStream>.Instance);
        var (old, recent, next) = (NewJobId(), NewJobId(), NewJobId());
        await stream.PublishAsync(Event(old));
        await stream.PublishAsync(Event(old));
        Time.Advance(TimeSpan.FromHours(20));
        await stream.PublishAsync(Event(recent));
        Time.Advance(TimeSpan.FromHours(5));

        await stream.PublishAsync(Event(next));

        // 25 hours after the old job's latest event, 5 after the recent one's: the default retention is a day.
        Assert.Empty(await stream.GetHistoryAsync(old, 0));
        Assert.Single(await stream.GetHistoryAsync(recent, 0));
        await stream.PublishAsync(Event(old));
        Assert.Equal([1L], (await stream.GetHistoryAsync(old, 0)).Select(e => e.Sequence));
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task DeleteAsync_Job_RemovesItsEventHistory()
    {
        var databases = Track(new Compliance.PostgresComplianceDatabases(Time));
        var database = databases.Connect();
        var stream = new PostgresJobEventStream(database, NullLogger<PostgresJobEventStream>.Instance);
        var store = new PostgresJobStore(database);
        var jobId = NewJobId();
        await store.CreateAsync(new GenerationJob
        {
            Id = jobId,
            Request = new GenerationRequest { Prompt = "a fox", Model = "procedural", OwnerId = "owner" },
            CreatedAt = Time.GetUtcNow(),
        });
        await stream.PublishAsync(Event(jobId));

        Assert.True(await store.DeleteAsync(jobId));

        Assert.Empty(await stream.GetHistoryAsync(jobId, 0));
        await stream.PublishAsync(Event(jobId));
        Assert.Equal([1L], (await stream.GetHistoryAsync(jobId, 0)).Select(e => e.Sequence));
    }

    private JobEvent Event(string jobId) => new()
    {
        JobId = jobId,
        OwnerId = "owner",
        Type = JobEventType.Progress,
        Timestamp = Time.GetUtcNow(),
        Status = JobStatus.Processing,
    };

    [Fact]
    public void Channel_LongSchemaAndJobId_FitsAnIdentifierAndStaysDistinct()
    {
        var schema = new string('s', 30);

        var first = PostgresChannels.Events(schema, new string('a', 40));
        var second = PostgresChannels.Events(schema, new string('a', 39) + "b");

        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(first), 1, 63);
        Assert.NotEqual(first, second);
        Assert.Equal("mediagen.e.0123456789abcdef0123456789abcdef", PostgresChannels.Events("mediagen", "0123456789abcdef0123456789abcdef"));
    }
}
