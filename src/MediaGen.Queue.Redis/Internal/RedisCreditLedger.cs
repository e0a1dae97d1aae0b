using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// The credit ledger on Redis. Each operation is one Lua script, so a reservation is checked and deducted
/// atomically across every process, and a job is reserved and settled at most once. Balances change with
/// INCRBY/DECRBY and come back as strings, which keeps them exact 64-bit integers (Lua numbers are doubles).
/// </summary>
/// <remarks>
/// A reservation is a small hash of its own, <c>credit:res:{n}:{owner}:{job}</c> (n the owner's length, so no two
/// owner and job pairs share a name), with a (amount), t (reserved at, Unix ms) and, once settled, s (credits refunded).
/// While open it is indexed in the <c>credit:open</c> sorted set by reservation time, for the sweeper; once settled it
/// leaves the index and expires after the finished-job retention, so a settled job's redelivery still finds it (and
/// charges nothing again) but the ledger's memory does not grow with every job ever run.
/// </remarks>
internal sealed class RedisCreditLedger : ICreditLedger
{
    /// <summary>The ledger's Lua functions, shared with the lifecycle scripts that settle credits in the same step.</summary>
    public const string Functions = """
        -- Credits stay decimal strings here, as Redis stores them and INCRBY/DECRBY keep them: Lua numbers are doubles, exact
        -- only to 2^53, so comparing them with tonumber let a reservation larger than the balance through above that.
        -- ledger_lt compares two such integers (no leading zeros, an optional '-') exactly.
        local function ledger_lt(a, b)
          local na, nb = string.sub(a, 1, 1) == '-', string.sub(b, 1, 1) == '-'
          if na ~= nb then return na end
          if na then a, b = string.sub(b, 2), string.sub(a, 2) end
          if #a ~= #b then return #a < #b end
          return a < b
        end
        local function ledger_reserve(balance_key, res_key, open_key, member, amount, initial, now)
          local balance = redis.call('GET', balance_key)
          if not balance then
            redis.call('SET', balance_key, initial)
            balance = initial
          end
          local r = redis.call('HGET', res_key, 'a')
          if r then return { 0, r, balance } end
          if ledger_lt(balance, amount) then return { -1, amount, balance } end
          local left = redis.call('DECRBY', balance_key, amount)
          redis.call('HSET', res_key, 'a', amount, 't', now)
          redis.call('ZADD', open_key, now, member)
          return { 1, amount, left }
        end
        local function ledger_short(balance_key, res_key, amount, initial)
          if redis.call('EXISTS', res_key) == 1 then return nil end
          local balance = redis.call('GET', balance_key) or initial
          if ledger_lt(balance, amount) then return balance end
          return nil
        end
        local function ledger_settle(balance_key, res_key, open_key, member, refund, initial, retention)
          local f = redis.call('HMGET', res_key, 'a', 's')
          if not f[1] or f[2] then return 0 end
          local give = refund
          if ledger_lt(f[1], give) then give = f[1] end
          redis.call('HSET', res_key, 's', give)
          redis.call('ZREM', open_key, member)
          if tonumber(retention) >= 0 then redis.call('PEXPIRE', res_key, math.max(1, tonumber(retention))) end
          if ledger_lt('0', give) then
            if redis.call('EXISTS', balance_key) == 0 then redis.call('SET', balance_key, initial) end
            redis.call('INCRBY', balance_key, give)
          end
          return give
        end

        """;

    /// <summary>KEYS 1 balance, 2 reservation, 3 open index. ARGV 1 amount, 2 initial balance, 3 member, 4 now ms. Returns { created (1, 0, or -1 when short), amount, balance }.</summary>
    private const string ReserveScript = Functions + """
        return ledger_reserve(KEYS[1], KEYS[2], KEYS[3], ARGV[3], ARGV[1], ARGV[2], ARGV[4])
        """;

    /// <summary>KEYS 1 balance, 2 reservation, 3 open index. ARGV 1 refund (-1 for all), 2 initial balance, 3 member, 4 retention ms or -1. Returns the credits refunded.</summary>
    private const string SettleScript = Functions + """
        local refund = ARGV[1]
        if refund == '-1' then refund = redis.call('HGET', KEYS[2], 'a') or '0' end
        return ledger_settle(KEYS[1], KEYS[2], KEYS[3], ARGV[3], refund, ARGV[2], ARGV[4])
        """;

    /// <summary>KEYS 1 balance. ARGV 1 amount, 2 initial balance. Returns the balance after the grant.</summary>
    private const string GrantScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[2]) end
        redis.call('INCRBY', KEYS[1], ARGV[1])
        return redis.call('GET', KEYS[1])
        """;

    /// <summary>KEYS 1 open index. ARGV 1 reserved-before ms (exclusive), 2 max count, 3 reservation key prefix. Returns { member, amount, reserved at, ... }.</summary>
    private const string ListOpenScript = """
        local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
        local out = {}
        for i = 1, #members, 2 do
          out[#out + 1] = members[i]
          out[#out + 1] = redis.call('HGET', ARGV[3] .. members[i], 'a') or '0'
          out[#out + 1] = members[i + 1]
        end
        return out
        """;

    private readonly RedisConnection _connection;
    private readonly RedisKeys _keys;
    private readonly Func<long> _initialBalance;
    private readonly TimeProvider _time;
    private readonly long _retentionMs;

    /// <summary>Creates the ledger; <paramref name="initialBalance"/> reads the balance of an owner never seen (CreditLedgerOptions.InitialBalance).</summary>
    public RedisCreditLedger(RedisConnection connection, IOptions<RedisQueueOptions> options, Func<long> initialBalance, TimeProvider? timeProvider = null)
    {
        _connection = connection;
        _keys = new RedisKeys(options.Value.KeyPrefix, options.Value.QueueName);
        _initialBalance = initialBalance;
        _time = timeProvider ?? TimeProvider.System;
        _retentionMs = options.Value.FinishedJobRetention is { } retention ? (long)retention.TotalMilliseconds : -1;
    }

    internal RedisConnection Connection => _connection;

    /// <summary>The balance of an owner never seen.</summary>
    internal long InitialBalance => _initialBalance();

    /// <summary>How long a settled reservation is kept, in ms; -1 for ever.</summary>
    internal long RetentionMs => _retentionMs;

    public async ValueTask<CreditReservation> ReserveAsync(string ownerId, string jobId, long amount, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        var result = (RedisResult[])(await RunAsync(
            ReserveScript,
            [_keys.CreditBalance(ownerId), _keys.CreditReservation(ownerId, jobId), _keys.CreditOpen],
            [amount, InitialBalance, RedisKeys.ReservationMember(ownerId, jobId), _time.GetUtcNow().ToUnixTimeMilliseconds()],
            cancellationToken).ConfigureAwait(false))!;
        var outcome = (long)result[0];
        var reserved = (long)result[1];
        var balance = (long)result[2];
        return outcome == -1
            ? throw new InsufficientCreditsException(ownerId, amount, balance)
            : new CreditReservation(jobId, reserved, balance, Created: outcome == 1);
    }

    public ValueTask<long> RefundAsync(string ownerId, string jobId, CancellationToken cancellationToken = default) =>
        SettleCoreAsync(ownerId, jobId, -1, cancellationToken);

    public ValueTask<long> SettleAsync(string ownerId, string jobId, long refund, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(refund);
        return SettleCoreAsync(ownerId, jobId, refund, cancellationToken);
    }

    public async ValueTask<IReadOnlyList<OpenReservation>> ListOpenReservationsAsync(DateTimeOffset reservedBefore, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        var result = (RedisResult[])(await RunAsync(
            ListOpenScript,
            [_keys.CreditOpen],
            [reservedBefore.ToUnixTimeMilliseconds(), maxCount, _keys.CreditReservationPrefix],
            cancellationToken).ConfigureAwait(false))!;
        var open = new List<OpenReservation>(result.Length / 3);
        for (var i = 0; i + 2 < result.Length; i += 3)
        {
            if (RedisKeys.TryParseReservationMember((string)result[i]!, out var ownerId, out var jobId))
            {
                open.Add(new OpenReservation(ownerId, jobId, (long)result[i + 1], DateTimeOffset.FromUnixTimeMilliseconds((long)result[i + 2])));
            }
        }

        return open;
    }

    private async ValueTask<long> SettleCoreAsync(string ownerId, string jobId, long refund, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var result = await RunAsync(
            SettleScript,
            [_keys.CreditBalance(ownerId), _keys.CreditReservation(ownerId, jobId), _keys.CreditOpen],
            [refund, InitialBalance, RedisKeys.ReservationMember(ownerId, jobId), _retentionMs],
            cancellationToken).ConfigureAwait(false);
        return (long)result;
    }

    public async ValueTask<long> GetBalanceAsync(string ownerId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        var db = await _connection.GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var value = await db.StringGetAsync(_keys.CreditBalance(ownerId)).WaitAsync(cancellationToken).ConfigureAwait(false);
            return value.IsNull ? InitialBalance : (long)value;
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
        {
            throw RedisErrors.Unavailable(e);
        }
    }

    public async ValueTask<long> GrantAsync(string ownerId, long amount, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(amount);
        var result = await RunAsync(GrantScript, [_keys.CreditBalance(ownerId)], [amount, InitialBalance], cancellationToken).ConfigureAwait(false);
        return (long)result;
    }

    private async ValueTask<RedisResult> RunAsync(string script, RedisKey[] keys, RedisValue[] values, CancellationToken cancellationToken)
    {
        var db = await _connection.GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await db.ScriptEvaluateAsync(script, keys, values).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
        {
            throw RedisErrors.Unavailable(e);
        }
    }
}
