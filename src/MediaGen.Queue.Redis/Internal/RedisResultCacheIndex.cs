using System.Globalization;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// The result cache's index on Redis: one string key per cache key (<see cref="RedisKeys.ResultCache"/>) holding
/// <c>{expiresAtMs} {jobId}</c>. The expiry in the value is checked against the <see cref="TimeProvider"/> on every
/// read; the key's own expiry (the same time to live) makes Redis drop it, so the index cleans itself.
/// </summary>
internal sealed class RedisResultCacheIndex : IResultCacheIndex
{
    /// <summary>KEYS 1 the entry. ARGV 1 the job id. Deletes the entry only while it names that job; returns 1 if so.</summary>
    private const string RemoveScript = """
        local value = redis.call('GET', KEYS[1])
        if not value then return 0 end
        local space = string.find(value, ' ', 1, true)
        if space and string.sub(value, space + 1) == ARGV[1] then
          redis.call('DEL', KEYS[1])
          return 1
        end
        return 0
        """;

    private readonly RedisConnection _connection;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _time;

    public RedisResultCacheIndex(RedisConnection connection, IOptions<RedisQueueOptions> options, TimeProvider timeProvider)
    {
        _connection = connection;
        _keys = new RedisKeys(options.Value.KeyPrefix, options.Value.QueueName);
        _time = timeProvider;
    }

    public async ValueTask<string?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var value = await RunAsync(db => db.StringGetAsync(_keys.ResultCache(key)), cancellationToken).ConfigureAwait(false);
        if (value.IsNull)
        {
            return null;
        }

        var text = value.ToString();
        var space = text.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0 || !long.TryParse(text.AsSpan(0, space), NumberStyles.Integer, CultureInfo.InvariantCulture, out var expiresMs))
        {
            return null;
        }

        return expiresMs > _time.GetUtcNow().ToUnixTimeMilliseconds() ? text[(space + 1)..] : null;
    }

    public async ValueTask SetAsync(string key, string jobId, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        var expiresMs = (_time.GetUtcNow() + timeToLive).ToUnixTimeMilliseconds();
        var value = expiresMs.ToString(CultureInfo.InvariantCulture) + " " + jobId;
        await RunAsync(db => db.StringSetAsync(_keys.ResultCache(key), value, timeToLive), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> RemoveAsync(string key, string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var result = await RunAsync(db => db.ScriptEvaluateAsync(RemoveScript, [_keys.ResultCache(key)], [jobId]), cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    private async Task<T> RunAsync<T>(Func<IDatabase, Task<T>> command, CancellationToken cancellationToken)
    {
        var db = await _connection.GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await command(db).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
        {
            throw RedisErrors.Unavailable(e);
        }
    }
}
