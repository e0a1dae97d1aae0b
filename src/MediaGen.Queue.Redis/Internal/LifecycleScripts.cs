namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// The lifecycle steps as scripts: each combines the store's, the ledger's and the queue's own Lua functions
/// (<see cref="StoreScripts.Functions"/>, <see cref="RedisCreditLedger.Functions"/>, <see cref="QueueScripts.Functions"/>)
/// with the event's publish (history and channel), so a step is one atomic unit on the server. One call carries a batch of steps (group
/// commit, see <see cref="RedisCommandBatcher{TItem, TResult}"/>); each step in it runs on its own: a step that raises
/// an error is reported for that step only, and the others stand. A step checks what it can refuse (the version, the
/// balance) before its first write; Redis undoes nothing a script wrote, so an error Redis raises part-way through a
/// step (a key of the wrong type, a balance that would overflow a 64-bit integer) leaves the writes before it.
/// </summary>
/// <remarks>
/// KEYS 1-6 the queue's (see <see cref="RedisLua"/>), 7 the open reservation index; each step's credit balance and
/// reservation keys are named inside the script from its owner and reservation member, under the same hash tag.
/// ARGV 1 message-hash prefix, 2 wake-up channel, 3 key root, 4 the number of steps, 5 the event history length, 6 its
/// time to live in ms (see <see cref="RedisJobEventStream.Functions"/>), 7 now in Unix ms (for removing expired jobs),
/// then each step's arguments (a fixed number per script, as each script says). Returns one result per step, or
/// { -99, message } for a step that raised an error.
/// </remarks>
internal static class LifecycleScripts
{
    /// <summary><see cref="Submit"/>, called by its digest.</summary>
    public static readonly RedisScript SubmitScript = new(Submit);

    /// <summary><see cref="Commit"/>, called by its digest.</summary>
    public static readonly RedisScript CommitScript = new(Commit);

    /// <summary>Arguments per submit step.</summary>
    public const int SubmitArity = 19;

    /// <summary>Arguments per commit step.</summary>
    public const int CommitArity = 29;

    private const string Header = RedisLua.Prelude + QueueScripts.Functions + RedisJobEventStream.Functions + StoreScripts.Functions + RedisCreditLedger.Functions + Names;

    // credit_keys names a step's balance and reservation keys from its owner and reservation member (as
    // RedisKeys.CreditBalance and CreditReservation do), so the client sends no key strings per step.
    private const string Names = """
        local function credit_keys(owner, member)
          return root .. 'credit:balance:' .. owner, root .. 'credit:res:' .. member
        end

        """;

    // Removes a few expired jobs once for the call (a few more than it has steps, so removals keep pace with the jobs
    // its steps finish), then runs step(args) for each step of the call, each under pcall.
    private const string Loop = """
        pcall(store_purge, tonumber(ARGV[7]), 20 + tonumber(ARGV[4]))
        local out = {}
        for i = 1, tonumber(ARGV[4]) do
          local base = 7 + (i - 1) * arity
          local ok, r = pcall(step, { unpack(ARGV, base + 1, base + arity) })
          if ok then
            out[i] = r
          elseif type(r) == 'table' and r.err then
            out[i] = { -99, r.err }
          else
            out[i] = { -99, tostring(r) }
          end
        end
        return out
        """;

    /// <summary>
    /// Per step: 1 id, 2 owner, 3 idempotency key or '', 4 JSON, 5 status, 6 updated at ms, 7 now ms, 8 retention ms or
    /// -1, 9 credits, 10 initial balance, 11 reservation member, 12 message id, 13 message body, 14 priority, 15 due ms
    /// or 0, 16 the id of the job whose event to publish (this one's) or '', 17 event payload, 18 message group, 19 the most pending jobs the owner may have or ''.
    /// Returns 1 when created (a plain integer: the common answer costs the client no array), { 0, existing JSON } when the key already names a job, { -1 } when the id exists,
    /// { -2, balance } when the owner cannot pay, { -3, pending } when the owner has the most pending jobs allowed
    /// (nothing is written then).
    /// </summary>
    public const string Submit = Header + """
        local arity = 19
        local function step(a)
          local kb, kr = credit_keys(a[2], a[11])
          local now = tonumber(a[7])
          local found = store_find(a[1], a[2], a[3])
          if found then return found end
          if a[19] ~= '' then
            local pending = redis.call('ZCARD', root .. 'owner-s0:' .. a[2])
            if pending >= tonumber(a[19]) then return { -3, pending } end
          end
          local reserved = ledger_reserve(kb, kr, KEYS[7], a[11], a[9], a[10], a[7])
          if reserved[1] == -1 then return { -2, reserved[3] } end
          local channel, event = nil, nil
          if a[16] == a[1] then
            channel = root .. 'events:' .. a[1]
            event = events_next(channel)
          end
          store_insert(a[1], a[2], a[3], a[11], a[4], a[5], a[6], now, tonumber(a[8]), event)
          if event then
            events_append(channel, event, a[17], ARGV[5], ARGV[6])
          elseif a[16] ~= '' then
            events_publish(root, a[16], a[17], ARGV[5], ARGV[6])
          end
          local _, delayed = queue_enqueue(a[12], a[13], a[14], a[15], a[7], a[18])
          if delayed then redis.call('PUBLISH', q.wake, '1') end
          return 1
        end
        """ + "\n" + Loop;

    /// <summary>
    /// Per step: 1 now ms, 2 retention ms or -1, 3 job id, 4 expected version or '' to write nothing, 5 JSON, 6 status,
    /// 7 updated at ms, 8 credits to refund or '' to leave the reservation open, 9 initial balance, 10 reservation
    /// member, 11 message id to enqueue or '', 12 body, 13 priority, 14 due ms or 0, 15 lease operation (complete,
    /// abandon, defer, dead) or '', 16 leased message id, 17 lease token, 18 abandon delay ms, 19 dead-letter reason,
    /// 20 description, 21 the id of the job whose event to publish or '', 22 event payload, 23 group of the message to enqueue, 24 credits to reserve
    /// for the run or '', 25 the run id (the reservation, the member in 10 and the message of a new run are the run's), 26
    /// the id of a webhook delivery to add to the outbox or '', 27 its payload (see <see cref="RedisWebhookOutbox"/>), 28 the owner,
    /// 29 the payload of an event of the same job to publish just before the step's own (only with a job written and an event) or ''.
    /// Returns 0 when the job is missing or its version differs (nothing is applied), { -2, balance } when the run's
    /// reservation cannot be paid (nothing is applied), 1 when applied, or 2 when applied but the lease was no longer held
    /// (the rest still applies).
    /// </summary>
    public const string Commit = Header + """
        local arity = 29
        local function step(a)
          local kb, kr = credit_keys(a[28], a[10])
          local now = tonumber(a[1])
          local retention = tonumber(a[2])
          if a[24] ~= '' then
            if a[4] ~= '' and redis.call('HGET', root .. 'job:' .. a[3], 'v') ~= a[4] then return 0 end
            local short = ledger_short(kb, kr, a[24], a[9])
            if short then return { -2, short } end
          end
          local channel, event = nil, nil
          if a[4] ~= '' then
            if a[21] == a[3] then channel = root .. 'events:' .. a[3] end
            local written
            written, event = store_update(a[3], a[4], a[5], a[6], a[7], now, retention, channel, a[29] ~= '' and 2 or 1)
            if written == 0 then return 0 end
          end
          if a[24] ~= '' then
            ledger_reserve(kb, kr, KEYS[7], a[10], a[24], a[9], a[1])
            local jk = root .. 'job:' .. a[3]
            redis.call('HSET', jk, 'u', a[25])
            if a[10] ~= store_member(a[28], a[25]) then redis.call('HSET', jk, 'm', a[10]) else redis.call('HDEL', jk, 'm') end
          end
          if a[8] ~= '' then ledger_settle(kb, kr, KEYS[7], a[10], a[8], a[9], a[2]) end
          if a[11] ~= '' then
            local _, delayed = queue_enqueue(a[11], a[12], a[13], a[14], a[1], a[23])
            if delayed then redis.call('PUBLISH', q.wake, '1') end
          end
          if event then
            if a[29] ~= '' then
              events_append(channel, event, a[29], ARGV[5], ARGV[6], a[22])
            else
              events_append(channel, event, a[22], ARGV[5], ARGV[6])
            end
          elseif a[21] ~= '' then
            events_publish(root, a[21], a[22], ARGV[5], ARGV[6])
          end
          if a[26] ~= '' then
            local wk = root .. 'webhooks:d:' .. a[26]
            if redis.call('EXISTS', wk) == 0 then
              redis.call('HSET', wk, 'job', a[3], 'payload', a[27], 'attempts', 0, 'at', a[1], 'state', 'w')
              redis.call('ZADD', root .. 'webhooks:due', a[1], a[26])
            end
          end
          local lease = 0
          if a[15] ~= '' then lease = queue_settle(a[15], a[16], a[17], now, tonumber(a[18]), a[19], a[20]) end
          if lease == -1 then return 2 end
          return 1
        end
        """ + "\n" + Loop;
}
