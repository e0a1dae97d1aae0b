using Polly;

namespace MediaGen.Core.Tests.Worker;

public sealed class BackoffTests
{
    private static readonly JobRetryBackoffOptions Exponential = new() { Delay = TimeSpan.FromSeconds(2), MaxDelay = TimeSpan.FromSeconds(30), UseJitter = false };

    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 4)]
    [InlineData(3, 8)]
    [InlineData(5, 30)]
    [InlineData(40, 30)]
    public void Compute_Exponential_DoublesUpToCap(int attempt, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), Backoff.For(Exponential).DelayFor(attempt, null, new Random(1)));

    [Fact]
    public void Compute_RetryAfterLonger_Wins() =>
        Assert.Equal(TimeSpan.FromSeconds(45), Backoff.For(Exponential).DelayFor(1, TimeSpan.FromSeconds(45), new Random(1)));

    [Fact]
    public void Compute_Jitter_StaysBetweenHalfAndFull()
    {
        var options = new JobRetryBackoffOptions { Delay = TimeSpan.FromSeconds(4), MaxDelay = TimeSpan.FromMinutes(1), UseJitter = true };
        var random = new Random(42);
        var delays = Enumerable.Range(0, 200).Select(_ => Backoff.For(options).DelayFor(2, null, random)).ToList();
        Assert.All(delays, d => Assert.InRange(d, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8)));
        Assert.True(delays.Distinct().Count() > 100);
    }

    [Theory]
    [InlineData(DelayBackoffType.Constant, 3, 2)]
    [InlineData(DelayBackoffType.Linear, 3, 6)]
    public void Compute_OtherShapes(DelayBackoffType type, int attempt, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), Backoff.For(new JobRetryBackoffOptions { BackoffType = type, UseJitter = false }).DelayFor(attempt, null, new Random(1)));

    [Theory]
    [InlineData(1, 250)]
    [InlineData(2, 500)]
    [InlineData(8, 30_000)]
    [InlineData(1_000, 30_000)]
    public void DelayFor_WithoutJitter_IsTheSameEveryTime(int failures, int milliseconds)
    {
        // The worker's receive backoff after a queue failure: 250 ms, doubling, at most 30 s.
        var receive = new Backoff(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(30));

        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), receive.DelayFor(failures));
        Assert.Equal(receive.DelayFor(failures), receive.DelayFor(failures, null, new Random(7)));
    }
}
