namespace MediaGen.Queue.Redis.Tests;

public sealed class RedisJobEventStreamTests : RedisClientTests
{

    [ServerFact(RedisTestServer.Variable)]
    public async Task SubscribeAsync_EventsPublishedByAnotherClient_ArriveInOrder()
    {
        var subscriberSide = await CreateStreamAsync();
        var publisherSide = await CreateStreamAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var events = await subscriberSide.OpenSubscriptionAsync("job-1", cts.Token);
        var first = events.MoveNextAsync();

        await publisherSide.PublishAsync(Event("job-2", JobEventType.Started, 0));
        for (var i = 1; i <= 3; i++)
        {
            await publisherSide.PublishAsync(Event("job-1", JobEventType.Progress, i / 4.0));
        }

        await publisherSide.PublishAsync(Event("job-1", JobEventType.Succeeded, 1));
        var received = new List<JobEvent>();
        Assert.True(await first);
        received.Add(events.Current);
        while (received.Count < 4 && await events.MoveNextAsync())
        {
            received.Add(events.Current);
        }

        Assert.Equal([0.25, 0.5, 0.75, 1], received.Select(e => e.Progress ?? -1));
        Assert.All(received, e => Assert.Equal("job-1", e.JobId));
        Assert.True(received[^1].IsTerminal);
        Assert.Equal(JobStatus.Processing, received[0].Status);
    }

    private static JobEvent Event(string jobId, JobEventType type, double progress) => new()
    {
        JobId = jobId,
        OwnerId = "owner",
        Type = type,
        Timestamp = DateTimeOffset.UnixEpoch,
        Status = type == JobEventType.Succeeded ? JobStatus.Succeeded : JobStatus.Processing,
        Progress = progress,
    };

    private async Task<RedisJobEventStream> CreateStreamAsync()
    {
        var connection = await ConnectAsync();
        return new RedisJobEventStream(connection, RedisTestServer.Options(Prefix), NullLogger<RedisJobEventStream>.Instance);
    }
}
