namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// The queue's Lua scripts. Each runs atomically on the server, so a message is always in exactly one of the
/// ready, delayed, leased or dead sets. Times are Unix milliseconds passed in by the client (the server clock is
/// never read), so a test's fake clock drives expiry and delays.
/// </summary>
/// <remarks>
/// Keys and the first two ARGV as in <see cref="RedisLua"/>. A message hash holds b (body), p (priority 0-2),
/// o (group), c (delivery count), e (enqueued at), t (current lease token), and once dead-lettered r (reason),
/// d (description), x (when). Ready scores are (2 - priority) * 2^48 + tag: higher priority first, then by tag.
/// Tags give fair share between groups (start-time fair queueing): a message that becomes ready is tagged one past the
/// later of its group's last tag and the virtual time (the highest tag received so far), so each group's messages
/// keep their order while a group with a long backlog and a group that just arrived alternate. The fair-share hash
/// keeps the virtual time and the last tag of each group that has ready messages.
/// </remarks>
internal static class QueueScripts
{
    /// <summary>
    /// The queue's operations as Lua functions over the queue table <c>q</c>, shared with the lifecycle scripts.
    /// <c>queue_enqueue</c> returns 1 when added, 0 when the id is already queued (a dead-lettered id is replaced), and
    /// whether the message was delayed. <c>queue_settle</c> returns -1 when the lease is no longer held (expired, or
    /// the message was delivered again), otherwise 1, or for renew the new expiry. <c>defer</c> abandons without counting
    /// the delivery (the message's count goes back by one).
    /// </summary>
    public const string Functions = """
        local function queue_ready(id, mk, priority, owner)
          if not priority then
            local f = redis.call('HMGET', mk, 'p', 'o')
            priority, owner = f[1], f[2]
          end
          local p = tonumber(priority or '1') or 1
          local group = 'o:' .. (owner or '')
          local t = redis.call('HMGET', q.fair, 'vt', group)
          local tag = math.max(tonumber(t[1] or '0'), tonumber(t[2] or '0')) + 1
          redis.call('HSET', q.fair, group, fmt(tag))
          if redis.call('ZCARD', q.ready) == 0 then redis.call('PUBLISH', q.wake, '1') end
          redis.call('ZADD', q.ready, fmt((2 - p) * 281474976710656 + tag), id)
        end
        local function queue_enqueue(id, body, priority, due, enqueued, group)
          local mk = q.prefix .. id
          if redis.call('EXISTS', mk) == 1 then
            if redis.call('ZREM', q.dead, id) == 0 then return 0, false end
            redis.call('DEL', mk)
          end
          redis.call('HSET', mk, 'b', body, 'p', priority, 'o', group, 'c', 0, 'e', enqueued)
          if due ~= '0' then
            redis.call('ZADD', q.delayed, due, id)
            return 1, true
          end
          queue_ready(id, mk, priority, group)
          return 1, false
        end
        local function queue_settle(op, id, token, now, argument, reason, description)
          local mk = q.prefix .. id
          local expiry = redis.call('ZSCORE', q.leased, id)
          if redis.call('HGET', mk, 't') ~= token or not expiry or tonumber(expiry) <= now then return -1 end
          if op == 'complete' then
            redis.call('ZREM', q.leased, id)
            redis.call('DEL', mk)
            return 1
          elseif op == 'renew' then
            local e = fmt(now + argument)
            redis.call('ZADD', q.leased, e, id)
            return e
          end
          redis.call('ZREM', q.leased, id)
          redis.call('HDEL', mk, 't')
          if op == 'defer' then
            -- Handed back on purpose: the next delivery counts as this one did.
            redis.call('HINCRBY', mk, 'c', -1)
            op = 'abandon'
          end
          if op == 'abandon' then
            if argument > 0 then
              redis.call('ZADD', q.delayed, fmt(now + argument), id)
              redis.call('PUBLISH', q.wake, '1')
            else
              queue_ready(id, mk)
            end
          else
            redis.call('HSET', mk, 'r', reason, 'd', description, 'x', fmt(now))
            redis.call('ZADD', q.dead, fmt(now), id)
          end
          return 1
        end
        local function queue_remove(id)
          local mk = q.prefix .. id
          if redis.call('DEL', mk) == 0 then return end
          redis.call('ZREM', q.ready, id)
          redis.call('ZREM', q.delayed, id)
          redis.call('ZREM', q.leased, id)
          redis.call('ZREM', q.dead, id)
        end

        """;

    private const string Header = RedisLua.Prelude + Functions;

    /// <summary><see cref="Receive"/>, called by its digest (every worker's receive loop runs it).</summary>
    public static readonly RedisScript ReceiveScript = new(Receive);

    /// <summary>
    /// ARGV 3.. runs of id, body, priority, due time ms (0 for ready now), enqueued at ms, group. Returns 1 per
    /// message added, 0 per id already queued (a dead-lettered id is replaced).
    /// </summary>
    public const string EnqueueMany = Header + """
        local out = {}
        local any_delayed = false
        for i = 3, #ARGV, 6 do
          local added, delayed = queue_enqueue(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5])
          if delayed then any_delayed = true end
          out[#out + 1] = added
        end
        if any_delayed then redis.call('PUBLISH', q.wake, '1') end
        return out
        """;

    /// <summary>
    /// ARGV 3 now, 4.. pairs of id and lease token. Completes each lease still held; returns 1 per completed lease
    /// and -1 per lease no longer held.
    /// </summary>
    public const string CompleteMany = Header + """
        local now = tonumber(ARGV[3])
        local out = {}
        for i = 4, #ARGV, 2 do
          out[#out + 1] = queue_settle('complete', ARGV[i], ARGV[i + 1], now, 0, '', '')
        end
        return out
        """;

    /// <summary>
    /// ARGV 3 now, 4 max messages, 5 lease ms, 6 the job store's key root or '' (absent counts as ''). Moves due delayed
    /// messages and expired leases to ready, then leases up to max ready messages. Returns { next due time or '', then
    /// id, body, delivery count, token, enqueued at, priority for each lease }, and with a key root a seventh value per
    /// lease: the JSON of the job the body names, read in the same atomic step (nil when there is none). An entry
    /// without a message hash is dead-lettered as malformed.
    /// </summary>
    public const string Receive = Header + """
        local now = tonumber(ARGV[3])
        local jobs = ARGV[6] or ''
        local due = redis.call('ZRANGEBYSCORE', q.delayed, '-inf', ARGV[3], 'LIMIT', 0, 1000)
        for _, id in ipairs(due) do
          redis.call('ZREM', q.delayed, id)
          queue_ready(id, q.prefix .. id)
        end
        local expired = redis.call('ZRANGEBYSCORE', q.leased, '-inf', ARGV[3], 'LIMIT', 0, 1000)
        for _, id in ipairs(expired) do
          redis.call('ZREM', q.leased, id)
          redis.call('HDEL', q.prefix .. id, 't')
          queue_ready(id, q.prefix .. id)
        end
        local out = { '' }
        local popped = redis.call('ZPOPMIN', q.ready, ARGV[4])
        local until_ms = fmt(now + tonumber(ARGV[5]))
        local vt = nil
        local t = 0
        if #popped > 0 then t = redis.call('INCRBY', q.seq, #popped / 2) - #popped / 2 end
        for i = 1, #popped, 2 do
          local id = popped[i]
          local mk = q.prefix .. id
          local f = redis.call('HMGET', mk, 'b', 'p', 'e', 'o', 'c')
          local tag = tonumber(popped[i + 1]) % 281474976710656
          if vt == nil or tag > vt then vt = tag end
          local group = 'o:' .. (f[4] or '')
          if tonumber(redis.call('HGET', q.fair, group) or '0') <= tag then redis.call('HDEL', q.fair, group) end
          if not f[1] then
            redis.call('HSET', mk, 'b', '', 'p', 1, 'c', 1, 'e', ARGV[3], 'r', 'malformed_message', 'd', 'The queue entry has no message body.', 'x', ARGV[3])
            redis.call('ZADD', q.dead, ARGV[3], id)
          else
            local c = (tonumber(f[5]) or 0) + 1
            t = t + 1
            redis.call('HSET', mk, 'c', c, 't', t)
            redis.call('ZADD', q.leased, until_ms, id)
            out[#out + 1] = id
            out[#out + 1] = f[1]
            out[#out + 1] = c
            out[#out + 1] = t
            out[#out + 1] = f[3] or ARGV[3]
            out[#out + 1] = f[2] or '1'
            if jobs ~= '' then
              local job = string.match(f[1], '"job":"([^"\\]+)"')
              out[#out + 1] = job and redis.call('GET', jobs .. 'data:' .. job) or false
            end
          end
        end
        if vt and vt > tonumber(redis.call('HGET', q.fair, 'vt') or '0') then redis.call('HSET', q.fair, 'vt', fmt(vt)) end
        if #out == 1 then
          local nd = redis.call('ZRANGE', q.delayed, 0, 0, 'WITHSCORES')
          local nl = redis.call('ZRANGE', q.leased, 0, 0, 'WITHSCORES')
          local next = nil
          if nd[2] then next = tonumber(nd[2]) end
          if nl[2] and (next == nil or tonumber(nl[2]) < next) then next = tonumber(nl[2]) end
          if next then out[1] = fmt(next) end
        end
        return out
        """;

    /// <summary>
    /// ARGV 3 operation (complete, abandon, defer, dead, renew), 4 id, 5 token, 6 now, 7 delay or lease ms, 8 reason,
    /// 9 description. Returns as <c>queue_settle</c> does.
    /// </summary>
    public const string Settle = Header + """
        return queue_settle(ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], ARGV[9])
        """;

    /// <summary>ARGV 3 max count. Returns { id, body, reason, description, delivery count, dead-lettered at } per dead letter, oldest first.</summary>
    public const string ListDead = """
        local ids = redis.call('ZRANGE', KEYS[4], 0, tonumber(ARGV[3]) - 1)
        local out = {}
        for _, id in ipairs(ids) do
          local f = redis.call('HMGET', ARGV[1] .. id, 'b', 'r', 'd', 'c', 'x')
          out[#out + 1] = id
          out[#out + 1] = f[1] or ''
          out[#out + 1] = f[2] or ''
          out[#out + 1] = f[3] or ''
          out[#out + 1] = f[4] or '0'
          out[#out + 1] = f[5] or '0'
        end
        return out
        """;

    /// <summary>ARGV 3 id. Returns 1 when the dead letter was moved back to ready with its delivery count reset.</summary>
    public const string Resubmit = Header + """
        local id = ARGV[3]
        if redis.call('ZREM', q.dead, id) == 0 then return 0 end
        local mk = q.prefix .. id
        redis.call('HSET', mk, 'c', 0)
        redis.call('HDEL', mk, 'r', 'd', 'x', 't')
        queue_ready(id, mk)
        return 1
        """;

    /// <summary>ARGV 3 id. Returns 1 when the dead letter existed and was removed with its message hash.</summary>
    public const string DeleteDead = """
        if redis.call('ZREM', KEYS[4], ARGV[3]) == 0 then return 0 end
        redis.call('DEL', ARGV[1] .. ARGV[3])
        return 1
        """;
}
