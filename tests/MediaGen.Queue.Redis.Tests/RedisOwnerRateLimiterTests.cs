using System.Threading.RateLimiting;

namespace MediaGen.Queue.Redis.Tests;

public sealed class RedisOwnerRateLimiterTests : RedisClientTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:15Z", CultureInfo.InvariantCulture));

    [ServerFact(RedisTestServer.Variable)]
    public async Task AcquireAsync_TwoProcesses_ShareEachOwnersWindow()
    {
        var first = await CreateAsync();
        var second = await CreateAsync();

        Assert.True((await first.AcquireAsync("alice")).IsAcquired);
        Assert.True((await second.AcquireAsync("alice")).IsAcquired);
        Assert.True((await first.AcquireAsync("alice")).IsAcquired);
        using var refused = await second.AcquireAsync("alice");

        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(45), retryAfter);
        Assert.True((await second.AcquireAsync("bob")).IsAcquired);

        _time.Advance(TimeSpan.FromSeconds(45));
        Assert.True((await first.AcquireAsync("alice")).IsAcquired);
    }

    // A limiter over its own connection, as each API process holds: 3 submissions per minute.
    private async Task<PartitionedRateLimiter<string>> CreateAsync()
    {
        var connection = await ConnectAsync();
        var options = Options.Create(new MediaGenerationOptions { SubmissionsPerOwner = 3, SubmissionWindow = TimeSpan.FromMinutes(1) });
        return new RedisOwnerRateLimiter(connection, RedisTestServer.Options(Prefix), options, _time);
    }
}
