namespace MediaGen.Core.Tests.Events;

public sealed class InMemoryEventHistoryTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task GetHistoryAsync_RetentionPassedSinceTheLatestEvent_TheHistoryIsDropped()
    {
        var stream = new InMemoryJobEventStream(_time, historyLength: 10, retention: TimeSpan.FromHours(1));
        await stream.PublishAsync(Event("old"));
        _time.Advance(TimeSpan.FromMinutes(40));
        await stream.PublishAsync(Event("kept"));
        _time.Advance(TimeSpan.FromMinutes(40));

        // 80 minutes after "old"'s only event, 40 after "kept"'s.
        Assert.Empty(await stream.GetHistoryAsync("old", 0));
        Assert.Single(await stream.GetHistoryAsync("kept", 0));
        await stream.PublishAsync(Event("kept"));
        _time.Advance(TimeSpan.FromMinutes(59));

        Assert.Equal([1L, 2L], (await stream.GetHistoryAsync("kept", 0)).Select(e => e.Sequence));
    }

    [Fact]
    public async Task PublishAsync_AfterTheHistoryExpired_NumbersFromOneAgain()
    {
        var stream = new InMemoryJobEventStream(_time, historyLength: 10, retention: TimeSpan.FromHours(1));
        await stream.PublishAsync(Event("job"));
        await stream.PublishAsync(Event("job"));
        _time.Advance(TimeSpan.FromHours(1));

        await stream.PublishAsync(Event("job"));

        Assert.Equal([1L], (await stream.GetHistoryAsync("job", 0)).Select(e => e.Sequence));
    }

    [Fact]
    public async Task PublishAsync_HistoryExpiresWhileSubscribed_TheSequenceKeepsGoing()
    {
        var stream = new InMemoryJobEventStream(_time, historyLength: 10, retention: TimeSpan.FromHours(1));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var subscription = await stream.OpenSubscriptionAsync("job", cts.Token);
        var first = subscription.MoveNextAsync();
        await stream.PublishAsync(Event("job"));
        Assert.True(await first);
        _time.Advance(TimeSpan.FromHours(2));
        await stream.PublishAsync(Event("other"));

        await stream.PublishAsync(Event("job"));

        Assert.True(await subscription.MoveNextAsync());
        Assert.Equal(2, subscription.Current.Sequence);
        Assert.Equal([2L], (await stream.GetHistoryAsync("job", 0)).Select(e => e.Sequence));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(100)]
    public async Task GetHistoryAsync_MoreEventsThanTheHistoryHolds_KeepsTheLatestInOrder(int historyLength)
    {
        // Kept in place for the first three, in an array past them: compact events and full ones (with progress) mixed.
        var stream = new InMemoryJobEventStream(_time, historyLength, retention: TimeSpan.FromHours(1));
        const int Published = 10;
        for (var i = 1; i <= Published; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await stream.PublishAsync(i % 3 == 0 ? Event("job") with { Progress = i / 10.0 } : Event("job") with { Type = JobEventType.Started, Attempt = i });
        }

        var kept = Math.Min(historyLength, Published);
        var all = await stream.GetHistoryAsync("job", 0);
        Assert.Equal(Enumerable.Range(Published - kept + 1, kept).Select(i => (long)i), all.Select(e => e.Sequence));
        foreach (var e in all)
        {
            var i = (int)e.Sequence;
            Assert.Equal(_time.GetUtcNow() - TimeSpan.FromSeconds(Published - i), e.Timestamp);
            Assert.Equal(i % 3 == 0 ? JobEventType.Progress : JobEventType.Started, e.Type);
            Assert.Equal(i % 3 == 0 ? i / 10.0 : null, e.Progress);
            Assert.Equal(i % 3 == 0 ? 0 : i, e.Attempt);
            Assert.Equal("owner", e.OwnerId);
        }

        Assert.Equal([Published], (await stream.GetHistoryAsync("job", Published - 1)).Select(e => e.Sequence));
    }

    [Fact]
    public async Task PublishStatus_SameEventsAsPublishingTheBuiltEvents_InTheHistoryAndToASubscriber()
    {
        var job = new GenerationJob
        {
            Id = "job",
            Request = new GenerationRequest { Prompt = "a cat", Model = "m", OwnerId = "owner" },
            CreatedAt = _time.GetUtcNow(),
        };
        var steps = new (GenerationJob Job, JobEventType Type)[]
        {
            (job, JobEventType.Queued),
            (job with { Status = JobStatus.Processing, Attempt = 1 }, JobEventType.Started),
            (job with { Status = JobStatus.Succeeded, Attempt = 1 }, JobEventType.Succeeded),
        };
        var built = new InMemoryJobEventStream(_time, historyLength: 10);
        var kept = new InMemoryJobEventStream(_time, historyLength: 10);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var subscription = await kept.OpenSubscriptionAsync("job", cts.Token);
        var live = new List<JobEvent>();
        foreach (var (stepJob, type) in steps)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await built.PublishAsync(JobEventPublishing.Build(stepJob, type, _time.GetUtcNow()));
            kept.PublishStatus(stepJob, type, _time.GetUtcNow());
            Assert.True(await subscription.MoveNextAsync());
            live.Add(subscription.Current);
        }

        var expected = await built.GetHistoryAsync("job", 0);
        Assert.Equal(3, expected.Count);
        Assert.Equal(expected, await kept.GetHistoryAsync("job", 0));
        Assert.Equal(expected, live);
        Assert.Equal([JobEventType.Queued, JobEventType.Started, JobEventType.Succeeded], expected.Select(e => e.Type));
        Assert.Equal([JobStatus.Pending, JobStatus.Processing, JobStatus.Succeeded], expected.Select(e => e.Status));
    }

    private JobEvent Event(string jobId) => new()
    {
        JobId = jobId,
        OwnerId = "owner",
        Type = JobEventType.Progress,
        Timestamp = _time.GetUtcNow(),
        Status = JobStatus.Processing,
    };
}
