using System.Globalization;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// Providers' rate-limit pauses on Redis, one string key per provider (<see cref="RedisKeys.ProviderPause"/>) holding
/// the deadline in Unix milliseconds, rounded up. A script compares and sets, so the deadline only moves later whatever
/// the concurrency; the key expires <see cref="KeepAfterDeadline"/> after the deadline (measured from the writer's
/// clock), so pauses leave nothing behind.
/// </summary>
internal sealed class RedisProviderPauseStore : IProviderPauseStore
{
    /// <summary>How long a passed deadline is kept, so clocks a little apart still read it.</summary>
    public static readonly TimeSpan KeepAfterDeadline = TimeSpan.FromMinutes(1);

    /// <summary>KEYS 1 the pause. ARGV 1 the deadline (Unix ms), 2 how long to keep it (ms). Returns the deadline in force.</summary>
    private const string ExtendScript = """
        local current = redis.call('GET', KEYS[1])
        if current and tonumber(current) >= tonumber(ARGV[1]) then return current end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        return ARGV[1]
        """;

    private readonly RedisConnection _connection;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _time;
    private readonly RedisCommandBatcher<RedisKey, RedisValue> _reads;

    public RedisProviderPauseStore(RedisConnection connection, IOptions<RedisQueueOptions> options, TimeProvider timeProvider)
    {
        _connection = connection;
        _keys = new RedisKeys(options.Value.KeyPrefix, options.Value.QueueName);
        _time = timeProvider;

        // Every job start reads its provider's pause: reads taken while one is in flight go out as one MGET.
        _reads = new RedisCommandBatcher<RedisKey, RedisValue>(FlushReadsAsync, maxBatch: 256);
    }

    public async ValueTask<DateTimeOffset> ExtendAsync(string provider, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        var untilMs = (until.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond;
        var keepMs = Math.Max(1, untilMs - _time.GetUtcNow().ToUnixTimeMilliseconds()) + (long)KeepAfterDeadline.TotalMilliseconds;
        var db = await _connection.GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        RedisResult result;
        try
        {
            result = await db.ScriptEvaluateAsync(ExtendScript, [_keys.ProviderPause(provider)], [untilMs, keepMs]).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
        {
            throw RedisErrors.Unavailable(e);
        }

        return Parse((string)result!);
    }

    public async ValueTask<DateTimeOffset?> GetAsync(string provider, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        var value = await _reads.RunAsync(_keys.ProviderPause(provider), cancellationToken).ConfigureAwait(false);
        return value.IsNull ? null : Parse(value.ToString());
    }

    private async Task<RedisValue[]> FlushReadsAsync(IReadOnlyList<RedisKey> keys)
    {
        var db = await _connection.GetDatabaseAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            return await db.StringGetAsync([.. keys]).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
        {
            throw RedisErrors.Unavailable(e);
        }
    }

    private static DateTimeOffset Parse(string milliseconds) =>
        DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(milliseconds, NumberStyles.Integer, CultureInfo.InvariantCulture));
}
