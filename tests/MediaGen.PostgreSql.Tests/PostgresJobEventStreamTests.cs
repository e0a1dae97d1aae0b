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
