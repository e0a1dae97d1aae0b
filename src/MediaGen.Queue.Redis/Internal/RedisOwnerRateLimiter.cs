using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// The submission limit (<see cref="MediaGenerationOptions.SubmissionsPerOwner"/>) shared by every process on the same
/// Redis: one counter per owner and fixed window (aligned to multiples of the window since the Unix epoch, on the
/// caller's <see cref="TimeProvider"/>), incremented and given its expiry in one script call.
/// </summary>
internal sealed class RedisOwnerRateLimiter(RedisConnection connection, IOptions<RedisQueueOptions> redisOptions, IOptions<MediaGenerationOptions> options, TimeProvider timeProvider)
    : PartitionedRateLimiter<string>
{
    /// <summary>KEYS 1 the counter; ARGV 1 permits, 2 expiry ms. Returns the count in the window, this call's included.</summary>
    private const string Increment = """
        local c = redis.call('INCRBY', KEYS[1], ARGV[1])
        if c == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return c
        """;

    private readonly string _root = new RedisKeys(redisOptions.Value.KeyPrefix, redisOptions.Value.QueueName).Root + "rate:";
    private readonly int _limit = options.Value.SubmissionsPerOwner ?? int.MaxValue;
    private readonly long _windowMs = (long)options.Value.SubmissionWindow.TotalMilliseconds;

    public override RateLimiterStatistics? GetStatistics(string resource) => null;

    protected override RateLimitLease AttemptAcquireCore(string resource, int permitCount) =>
        throw new NotSupportedException("The shared submission limit is taken with AcquireAsync: it needs a round trip to Redis.");

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(string resource, int permitCount, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var nowMs = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var window = nowMs / _windowMs;
        var left = ((window + 1) * _windowMs) - nowMs;
        var db = await connection.GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        long count;
        try
        {
            // The counter outlives its window by a second, so a clock a little behind another process's still finds it.
            count = (long)(await db.ScriptEvaluateAsync(Increment, [_root + window + ":" + resource], [permitCount, left + 1000]).WaitAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
        {
            throw RedisErrors.Unavailable(e);
        }

        return count <= _limit ? SubmissionRateLeases.Granted : SubmissionRateLeases.Refused(TimeSpan.FromMilliseconds(left));
    }
}
