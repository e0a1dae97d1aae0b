using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MediaGen.Internal;

/// <summary>
/// The credit ledger on Redis. Each operation is one Lua script, so a reservation is checked and deducted
/// atomically across every process, and a job is reserved and refunded at most once. Balances change with
/// INCRBY/DECRBY and come back as
/// strings, which keeps them exact 64-bit integers (Lua numbers are doubles).
/// </summary>
internal sealed class RedisCreditLedger : ICreditLedger
{
    /// <summary>
    /// KEYS 1 balance, 2 the owner's reservations (a hash: <c>a:{jobId}</c> amount, <c>r:{jobId}</c> refunded). ARGV 1 amount,
    /// 2 initial balance, 3 job id. Returns { created (1, 0, or -1 when short), amount, balance }.
    /// </summary>
    private const string ReserveScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[2]) end
        local r = redis.call('HGET', KEYS[2], 'a:' .. ARGV[3])
        if r then return { 0, r, redis.call('GET', KEYS[1]) } end
        local balance = redis.call('GET', KEYS[1])
        if tonumber(balance) < tonumber(ARGV[1]) then return { -1, ARGV[1], balance } end
        redis.call('DECRBY', KEYS[1], ARGV[1])
        redis.call('HSET', KEYS[2], 'a:' .. ARGV[3], ARGV[1])
        return { 1, ARGV[1], redis.call('GET', KEYS[1]) }
        """;

    /// <summary>KEYS 1 balance, 2 the owner's reservations. ARGV 1 initial balance, 2 job id. Returns the credits refunded.</summary>
    private const string RefundScript = """
        local a = redis.call('HGET', KEYS[2], 'a:' .. ARGV[2])
        if not a or redis.call('HSETNX', KEYS[2], 'r:' .. ARGV[2], 1) == 0 then return 0 end
        if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[1]) end
        redis.call('INCRBY', KEYS[1], a)
        return a
        """;

    /// <summary>KEYS 1 balance. ARGV 1 amount, 2 initial balance. Returns the balance after the grant.</summary>
    private const string GrantScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[2]) end
        redis.call('INCRBY', KEYS[1], ARGV[1])
        return redis.call('GET', KEYS[1])
        """;

    private readonly RedisConnection _connection;
    private readonly RedisKeys _keys;
    private readonly Func<long> _initialBalance;

    /// <summary>Creates the ledger; <paramref name="initialBalance"/> reads the balance of an owner never seen (CreditLedgerOptions.InitialBalance).</summary>
    public RedisCreditLedger(RedisConnection connection, IOptions<RedisQueueOptions> options, Func<long> initialBalance)
    {
        _connection = connection;
        _keys = new RedisKeys(options.Value.KeyPrefix, options.Value.QueueName);
        _initialBalance = initialBalance;
    }

    private long InitialBalance => _initialBalance();

    public async ValueTask<CreditReservation> ReserveAsync(string ownerId, string jobId, long amount, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        var result = (RedisResult[])(await RunAsync(
            ReserveScript,
            [_keys.CreditBalance(ownerId), _keys.CreditReservations(ownerId)],
            [amount, InitialBalance, jobId],
            cancellationToken).ConfigureAwait(false))!;
        var outcome = (long)result[0];
        var reserved = (long)result[1];
        var balance = (long)result[2];
        return outcome == -1
            ? throw new InsufficientCreditsException(ownerId, amount, balance)
            : new CreditReservation(jobId, reserved, balance, Created: outcome == 1);
    }

    public async ValueTask<long> RefundAsync(string ownerId, string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var result = await RunAsync(
            RefundScript,
            [_keys.CreditBalance(ownerId), _keys.CreditReservations(ownerId)],
            [InitialBalance, jobId],
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
