using System.Globalization;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// The webhook outbox on Redis: a hash per delivery (<see cref="RedisKeys.WebhookPrefix"/>) and a sorted set of the
/// waiting and leased ones by due time, where a lease's expiry is its due time, so an expired lease is simply due again.
/// Each operation is one script, so two processes never lease the same delivery at once; a lease is named by a token
/// from a counter and settles only while it holds. Given-up deliveries move to a second sorted set by expiry and are
/// removed by the next call that passes it; completed ones are deleted at once. Times are the caller's clock, in ms.
/// </summary>
internal sealed class RedisWebhookOutbox : IWebhookOutbox
{
    /// <summary>Shared by every script: KEYS 1 due, 2 given up, 3 token counter; ARGV 1 the hash prefix.</summary>
    private const string Prelude = """
        local function fmt(n) return string.format('%.0f', n) end
        local function purge(now)
          local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
          for _, id in ipairs(gone) do redis.call('DEL', ARGV[1] .. id) end
          if #gone > 0 then redis.call('ZREM', KEYS[2], unpack(gone)) end
        end
        -- A delivery given up whose retention has passed, removed now: purge takes at most 100 a call, so one can outlive it.
        local function expired(key, id, now)
          local f = redis.call('HMGET', key, 'state', 'at')
          if f[1] ~= 'g' or tonumber(f[2]) > tonumber(now) then return false end
          redis.call('DEL', key)
          redis.call('ZREM', KEYS[2], id)
          return true
        end
        local function held(key, token, now)
          local f = redis.call('HMGET', key, 'token', 'at')
          return f[1] == token and f[2] and tonumber(f[2]) > tonumber(now)
        end

        """;

    /// <summary>ARGV 2 id, 3 job id, 4 payload, 5 due (ms), 6 now (ms). Returns 1 if added, 0 if the id is there.</summary>
    private const string AddScript = Prelude + """
        purge(ARGV[6])
        local key = ARGV[1] .. ARGV[2]
        if redis.call('EXISTS', key) == 1 and not expired(key, ARGV[2], ARGV[6]) then return 0 end
        redis.call('HSET', key, 'job', ARGV[3], 'payload', ARGV[4], 'attempts', 0, 'at', ARGV[5], 'state', 'w')
        redis.call('ZADD', KEYS[1], ARGV[5], ARGV[2])
        return 1
        """;

    /// <summary>ARGV 2 now (ms), 3 most to lease, 4 lease (ms). Returns [id, job, payload, error, attempts, token, until] per lease.</summary>
    private const string LeaseScript = Prelude + """
        purge(ARGV[2])
        local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
        local untilMs = fmt(tonumber(ARGV[2]) + tonumber(ARGV[4]))
        local out = {}
        for _, id in ipairs(ids) do
          local key = ARGV[1] .. id
          local token = redis.call('INCR', KEYS[3])
          local attempts = redis.call('HINCRBY', key, 'attempts', 1)
          redis.call('HSET', key, 'token', token, 'at', untilMs, 'state', 'l')
          redis.call('ZADD', KEYS[1], untilMs, id)
          local f = redis.call('HMGET', key, 'job', 'payload', 'error')
          out[#out + 1] = { id, f[1], f[2], f[3] or '', attempts, token, untilMs }
        end
        return out
        """;

    /// <summary>ARGV 2 id, 3 token, 4 now (ms). Deletes the delivery while the lease holds; returns 1 if so.</summary>
    private const string CompleteScript = Prelude + """
        local key = ARGV[1] .. ARGV[2]
        if not held(key, ARGV[3], ARGV[4]) then return 0 end
        redis.call('DEL', key)
        redis.call('ZREM', KEYS[1], ARGV[2])
        return 1
        """;

    /// <summary>ARGV 2 id, 3 token, 4 now (ms), 5 due (ms), 6 error. Releases the lease until the due time; returns 1 if held.</summary>
    private const string RetryScript = Prelude + """
        local key = ARGV[1] .. ARGV[2]
        if not held(key, ARGV[3], ARGV[4]) then return 0 end
        redis.call('HSET', key, 'at', ARGV[5], 'error', ARGV[6], 'state', 'w')
        redis.call('HDEL', key, 'token')
        redis.call('ZADD', KEYS[1], ARGV[5], ARGV[2])
        return 1
        """;

    /// <summary>ARGV 2 id, 3 token, 4 now (ms), 5 retention (ms), 6 error. Gives the delivery up while the lease holds; returns 1 if so.</summary>
    private const string GiveUpScript = Prelude + """
        local key = ARGV[1] .. ARGV[2]
        if not held(key, ARGV[3], ARGV[4]) then return 0 end
        redis.call('ZREM', KEYS[1], ARGV[2])
        if tonumber(ARGV[5]) <= 0 then
          redis.call('DEL', key)
          return 1
        end
        local expires = fmt(tonumber(ARGV[4]) + tonumber(ARGV[5]))
        redis.call('HSET', key, 'at', expires, 'error', ARGV[6], 'state', 'g')
        redis.call('HDEL', key, 'token')
        redis.call('ZADD', KEYS[2], expires, ARGV[2])
        return 1
        """;

    /// <summary>ARGV 2 id, 3 now (ms). Returns [job, payload, attempts, error, at, state], or nil.</summary>
    private const string GetScript = Prelude + """
        purge(ARGV[3])
        local key = ARGV[1] .. ARGV[2]
        if redis.call('EXISTS', key) == 0 or expired(key, ARGV[2], ARGV[3]) then return nil end
        local f = redis.call('HMGET', key, 'job', 'payload', 'attempts', 'error', 'at', 'state')
        return { f[1], f[2], f[3], f[4] or '', f[5], f[6] }
        """;

    private readonly RedisConnection _connection;
    private readonly RedisKeys _keys;
    private readonly RedisKey[] _scriptKeys;
    private readonly TimeProvider _time;

    public RedisWebhookOutbox(RedisConnection connection, IOptions<RedisQueueOptions> options, TimeProvider timeProvider)
    {
        _connection = connection;
        _keys = new RedisKeys(options.Value.KeyPrefix, options.Value.QueueName);
        _scriptKeys = _keys.WebhookScriptKeys;
        _time = timeProvider;
    }

    /// <summary>The connection, so the lifecycle store can tell its own outbox.</summary>
    public RedisConnection Connection => _connection;

    public async ValueTask<bool> AddAsync(WebhookDelivery delivery, CancellationToken cancellationToken = default)
    {
        Check(delivery);
        var now = NowMs();
        var due = delivery.DueAt is { } at ? CeilingMs(at) : now;
        var result = await RunAsync(AddScript, [_keys.WebhookPrefix, delivery.Id, delivery.JobId, delivery.Payload, due, now], cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    public async ValueTask<IReadOnlyList<WebhookDeliveryLease>> LeaseAsync(int maxCount, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(leaseDuration, TimeSpan.Zero);
        var leaseMs = (long)Math.Ceiling(leaseDuration.TotalMilliseconds);
        var rows = (RedisResult[])(await RunAsync(LeaseScript, [_keys.WebhookPrefix, NowMs(), maxCount, leaseMs], cancellationToken).ConfigureAwait(false))!;
        if (rows.Length == 0)
        {
            return [];
        }

        var leases = new WebhookDeliveryLease[rows.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            var row = (RedisResult[])rows[i]!;
            var error = (string?)row[3];
            leases[i] = new WebhookDeliveryLease
            {
                Delivery = new WebhookDelivery { Id = (string)row[0]!, JobId = (string)row[1]!, Payload = (string)row[2]! },
                LastError = string.IsNullOrEmpty(error) ? null : error,
                Attempt = (int)(long)row[4],
                Token = (string)row[5]!,
                LockedUntil = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse((string)row[6]!, NumberStyles.Integer, CultureInfo.InvariantCulture)),
            };
        }

        return leases;
    }

    public async ValueTask<bool> CompleteAsync(WebhookDeliveryLease lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return (long)await RunAsync(CompleteScript, [_keys.WebhookPrefix, lease.Delivery.Id, lease.Token, NowMs()], cancellationToken).ConfigureAwait(false) == 1;
    }

    public async ValueTask<bool> RetryAsync(WebhookDeliveryLease lease, DateTimeOffset dueAt, string error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(error);
        return (long)await RunAsync(RetryScript, [_keys.WebhookPrefix, lease.Delivery.Id, lease.Token, NowMs(), CeilingMs(dueAt), error], cancellationToken).ConfigureAwait(false) == 1;
    }

    public async ValueTask<bool> GiveUpAsync(WebhookDeliveryLease lease, string error, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentOutOfRangeException.ThrowIfLessThan(retention, TimeSpan.Zero);
        var retentionMs = (long)Math.Ceiling(retention.TotalMilliseconds);
        return (long)await RunAsync(GiveUpScript, [_keys.WebhookPrefix, lease.Delivery.Id, lease.Token, NowMs(), retentionMs, error], cancellationToken).ConfigureAwait(false) == 1;
    }

    public async ValueTask<WebhookDeliveryRecord?> GetAsync(string deliveryId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(deliveryId);
        var now = NowMs();
        var result = await RunAsync(GetScript, [_keys.WebhookPrefix, deliveryId, now], cancellationToken).ConfigureAwait(false);
        if (result.IsNull)
        {
            return null;
        }

        var row = (RedisResult[])result!;
        var error = (string?)row[3];
        var at = long.Parse((string)row[4]!, NumberStyles.Integer, CultureInfo.InvariantCulture);
        var status = (string?)row[5] switch
        {
            "g" => WebhookDeliveryStatus.GivenUp,
            "l" when at > now => WebhookDeliveryStatus.Leased,
            _ => WebhookDeliveryStatus.Waiting,
        };
        return new WebhookDeliveryRecord
        {
            Delivery = new WebhookDelivery { Id = deliveryId, JobId = (string)row[0]!, Payload = (string)row[1]! },
            Attempts = (int)long.Parse((string)row[2]!, NumberStyles.Integer, CultureInfo.InvariantCulture),
            LastError = string.IsNullOrEmpty(error) ? null : error,
            DueAt = DateTimeOffset.FromUnixTimeMilliseconds(at),
            Status = status,
        };
    }

    private static void Check(WebhookDelivery delivery)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentException.ThrowIfNullOrEmpty(delivery.Id, nameof(delivery));
        ArgumentException.ThrowIfNullOrEmpty(delivery.JobId, nameof(delivery));
        ArgumentNullException.ThrowIfNull(delivery.Payload, nameof(delivery));
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>An instant in Unix ms, rounded up, so a delivery is never due earlier than asked.</summary>
    private static long CeilingMs(DateTimeOffset at) =>
        (at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond;

    private async Task<RedisResult> RunAsync(string script, RedisValue[] values, CancellationToken cancellationToken)
    {
        var db = await _connection.GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await db.ScriptEvaluateAsync(script, _scriptKeys, values).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
        {
            throw RedisErrors.Unavailable(e);
        }
    }
}
