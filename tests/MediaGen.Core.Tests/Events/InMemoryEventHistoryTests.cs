using MediaGen.Internal;
using Microsoft.Extensions.Time.Testing;

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

    private JobEvent Event(string jobId) => new()
    {
        JobId = jobId,
        OwnerId = "owner",
        Type = JobEventType.Progress,
        Timestamp = _time.GetUtcNow(),
        Status = JobStatus.Processing,
    };
}
