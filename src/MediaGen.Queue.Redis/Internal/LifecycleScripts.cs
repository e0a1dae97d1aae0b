namespace MediaGen.Internal;

/// <summary>
/// The lifecycle steps as single scripts: each combines the store's, the ledger's and the queue's own Lua functions
/// (<see cref="StoreScripts.Functions"/>, <see cref="RedisCreditLedger.Functions"/>, <see cref="QueueScripts.Functions"/>)
/// with the event's PUBLISH, so a step is one round trip and one atomic unit on the server.
/// </summary>
/// <remarks>
/// KEYS 1-5 the queue's (see <see cref="RedisLua"/>), 6 the owner's credit balance, 7 the job's reservation, 8 the open
/// reservation index. ARGV 1 message-hash prefix, 2 wake-up channel, 3 key root, then as each script says.
/// </remarks>
internal static class LifecycleScripts
{
    private const string Header = RedisLua.Prelude + QueueScripts.Functions + StoreScripts.Functions + RedisCreditLedger.Functions;

    /// <summary>
    /// ARGV 4 id, 5 owner, 6 idempotency key or '', 7 JSON, 8 status, 9 updated at ms, 10 now ms, 11 retention ms or -1,
    /// 12 credits, 13 initial balance, 14 reservation member, 15 message id, 16 message body, 17 priority, 18 due ms or
    /// 0, 19 event channel or '', 20 event payload. Returns { 1 } when created, { 0, existing JSON } when the key already
    /// names a job, { -1 } when the id exists, { -2, balance } when the owner cannot pay (nothing is written then).
    /// </summary>
    public const string Submit = Header + """
        local now = tonumber(ARGV[10])
        store_purge(now)
        local found = store_find(ARGV[4], ARGV[5], ARGV[6])
        if found then return found end
        local reserved = ledger_reserve(KEYS[6], KEYS[7], KEYS[8], ARGV[14], ARGV[12], ARGV[13], ARGV[10])
        if reserved[1] == -1 then return { -2, reserved[3] } end
        store_insert(ARGV[4], ARGV[5], ARGV[6], ARGV[14], ARGV[7], ARGV[8], ARGV[9], now, tonumber(ARGV[11]))
        if ARGV[19] ~= '' then redis.call('PUBLISH', ARGV[19], ARGV[20]) end
        local _, delayed = queue_enqueue(ARGV[15], ARGV[16], ARGV[17], ARGV[18], ARGV[10])
        if delayed then redis.call('PUBLISH', q.wake, '1') end
        return { 1 }
        """;

    /// <summary>
    /// ARGV 4 now ms, 5 retention ms or -1, 6 job id, 7 expected version or '' to write nothing, 8 JSON, 9 status,
    /// 10 updated at ms, 11 credits to refund or '' to leave the reservation open, 12 initial balance, 13 reservation
    /// member, 14 message id to enqueue or '', 15 body, 16 priority, 17 due ms or 0, 18 lease operation (complete,
    /// abandon, dead) or '', 19 leased message id, 20 lease token, 21 abandon delay ms, 22 dead-letter reason,
    /// 23 description, 24 event channel or '', 25 event payload. Returns { 0 } when the job is missing or its version
    /// differs (nothing is applied), else { 1, lease result } with -1 for a lease no longer held (the rest still applies).
    /// </summary>
    public const string Commit = Header + """
        local now = tonumber(ARGV[4])
        local retention = tonumber(ARGV[5])
        if ARGV[7] ~= '' and store_update(ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], now, retention) == 0 then return { 0 } end
        if ARGV[11] ~= '' then ledger_settle(KEYS[6], KEYS[7], KEYS[8], ARGV[13], ARGV[11], ARGV[12], ARGV[5]) end
        if ARGV[14] ~= '' then
          local _, delayed = queue_enqueue(ARGV[14], ARGV[15], ARGV[16], ARGV[17], ARGV[4])
          if delayed then redis.call('PUBLISH', q.wake, '1') end
        end
        if ARGV[24] ~= '' then redis.call('PUBLISH', ARGV[24], ARGV[25]) end
        local lease = 0
        if ARGV[18] ~= '' then lease = queue_settle(ARGV[18], ARGV[19], ARGV[20], now, tonumber(ARGV[21]), ARGV[22], ARGV[23]) end
        return { 1, lease }
        """;
}
