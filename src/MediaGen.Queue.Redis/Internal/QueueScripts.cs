namespace MediaGen.Internal;

/// <summary>
/// The queue's Lua scripts. Each runs atomically on the server, so a message is always in exactly one of the
/// ready, delayed, leased or dead sets. Times are Unix milliseconds passed in by the client (the server clock is
/// never read), so a test's fake clock drives expiry and delays.
/// </summary>
/// <remarks>
/// KEYS for every script: 1 ready, 2 delayed, 3 leased, 4 dead, 5 sequence. ARGV 1 is the message-hash prefix,
/// ARGV 2 the wake-up channel. A message hash holds b (body), p (priority 0-2), c (delivery count),
/// e (enqueued at), t (current lease token), and once dead-lettered r (reason), d (description), x (when).
/// Ready scores are (2 - priority) * 2^48 + sequence: higher priority first, FIFO within a priority.
/// Numbers are formatted with %.0f because Lua's default number formatting keeps only 14 digits.
/// </remarks>
internal static class QueueScripts
{
    private const string Common = """
        local function fmt(n) return string.format('%.0f', n) end
        local function make_ready(id, mk)
          local p = tonumber(redis.call('HGET', mk, 'p') or '1') or 1
          local seq = redis.call('INCR', KEYS[5])
          if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('PUBLISH', ARGV[2], '1') end
          redis.call('ZADD', KEYS[1], fmt((2 - p) * 281474976710656 + seq), id)
        end

        """;

    /// <summary>
    /// ARGV 3.. groups of id, body, priority, due time ms (0 for ready now), enqueued at ms. Returns 1 per message
    /// added, 0 per id already queued (a dead-lettered id is replaced).
    /// </summary>
    public const string EnqueueMany = Common + """
        local out = {}
        local delayed = false
        for i = 3, #ARGV, 5 do
          local id = ARGV[i]
          local mk = ARGV[1] .. id
          local added = 1
          if redis.call('EXISTS', mk) == 1 then
            if redis.call('ZREM', KEYS[4], id) == 1 then
              redis.call('DEL', mk)
            else
              added = 0
            end
          end
          if added == 1 then
            redis.call('HSET', mk, 'b', ARGV[i + 1], 'p', ARGV[i + 2], 'c', 0, 'e', ARGV[i + 4])
            if ARGV[i + 3] ~= '0' then
              redis.call('ZADD', KEYS[2], ARGV[i + 3], id)
              delayed = true
            else
              make_ready(id, mk)
            end
          end
          out[#out + 1] = added
        end
        if delayed then redis.call('PUBLISH', ARGV[2], '1') end
        return out
        """;

    /// <summary>
    /// ARGV 3 now, 4.. pairs of id and lease token. Completes each lease still held; returns 1 per completed lease
    /// and -1 per lease no longer held.
    /// </summary>
    public const string CompleteMany = """
        local now = tonumber(ARGV[3])
        local out = {}
        for i = 4, #ARGV, 2 do
          local id = ARGV[i]
          local mk = ARGV[1] .. id
          local expiry = redis.call('ZSCORE', KEYS[3], id)
          if redis.call('HGET', mk, 't') == ARGV[i + 1] and expiry and tonumber(expiry) > now then
            redis.call('ZREM', KEYS[3], id)
            redis.call('DEL', mk)
            out[#out + 1] = 1
          else
            out[#out + 1] = -1
          end
        end
        return out
        """;

    /// <summary>
    /// ARGV 3 now, 4 max messages, 5 lease ms. Moves due delayed messages and expired leases to ready, then leases
    /// up to max ready messages. Returns { next due time or '', then id, body, delivery count, token, enqueued at,
    /// priority for each lease }. An entry without a message hash is dead-lettered as malformed.
    /// </summary>
    public const string Receive = Common + """
        local now = tonumber(ARGV[3])
        local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3], 'LIMIT', 0, 1000)
        for _, id in ipairs(due) do
          redis.call('ZREM', KEYS[2], id)
          make_ready(id, ARGV[1] .. id)
        end
        local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[3], 'LIMIT', 0, 1000)
        for _, id in ipairs(expired) do
          redis.call('ZREM', KEYS[3], id)
          redis.call('HDEL', ARGV[1] .. id, 't')
          make_ready(id, ARGV[1] .. id)
        end
        local out = { '' }
        local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[4])
        local until_ms = fmt(now + tonumber(ARGV[5]))
        for i = 1, #popped, 2 do
          local id = popped[i]
          local mk = ARGV[1] .. id
          local f = redis.call('HMGET', mk, 'b', 'p', 'e')
          if not f[1] then
            redis.call('HSET', mk, 'b', '', 'p', 1, 'c', 1, 'e', ARGV[3], 'r', 'malformed_message', 'd', 'The queue entry has no message body.', 'x', ARGV[3])
            redis.call('ZADD', KEYS[4], ARGV[3], id)
          else
            local c = redis.call('HINCRBY', mk, 'c', 1)
            local t = redis.call('INCR', KEYS[5])
            redis.call('HSET', mk, 't', t)
            redis.call('ZADD', KEYS[3], until_ms, id)
            out[#out + 1] = id
            out[#out + 1] = f[1]
            out[#out + 1] = c
            out[#out + 1] = t
            out[#out + 1] = f[3] or ARGV[3]
            out[#out + 1] = f[2] or '1'
          end
        end
        if #out == 1 then
          local nd = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
          local nl = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
          local next = nil
          if nd[2] then next = tonumber(nd[2]) end
          if nl[2] and (next == nil or tonumber(nl[2]) < next) then next = tonumber(nl[2]) end
          if next then out[1] = fmt(next) end
        end
        return out
        """;

    /// <summary>
    /// ARGV 3 operation (complete, abandon, dead, renew), 4 id, 5 token, 6 now, 7 delay or lease ms, 8 reason,
    /// 9 description. Returns -1 when the lease is no longer held (expired, or the message was delivered again),
    /// otherwise 1, or for renew the new expiry.
    /// </summary>
    public const string Settle = Common + """
        local id = ARGV[4]
        local mk = ARGV[1] .. id
        local now = tonumber(ARGV[6])
        local token = redis.call('HGET', mk, 't')
        local expiry = redis.call('ZSCORE', KEYS[3], id)
        if token ~= ARGV[5] or not expiry or tonumber(expiry) <= now then return -1 end
        local op = ARGV[3]
        if op == 'complete' then
          redis.call('ZREM', KEYS[3], id)
          redis.call('DEL', mk)
          return 1
        elseif op == 'renew' then
          local e = fmt(now + tonumber(ARGV[7]))
          redis.call('ZADD', KEYS[3], e, id)
          return e
        end
        redis.call('ZREM', KEYS[3], id)
        redis.call('HDEL', mk, 't')
        if op == 'abandon' then
          local delay = tonumber(ARGV[7])
          if delay > 0 then
            redis.call('ZADD', KEYS[2], fmt(now + delay), id)
            redis.call('PUBLISH', ARGV[2], '1')
          else
            make_ready(id, mk)
          end
        else
          redis.call('HSET', mk, 'r', ARGV[8], 'd', ARGV[9], 'x', ARGV[6])
          redis.call('ZADD', KEYS[4], ARGV[6], id)
        end
        return 1
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
    public const string Resubmit = Common + """
        local id = ARGV[3]
        if redis.call('ZREM', KEYS[4], id) == 0 then return 0 end
        local mk = ARGV[1] .. id
        redis.call('HSET', mk, 'c', 0)
        redis.call('HDEL', mk, 'r', 'd', 'x', 't')
        make_ready(id, mk)
        return 1
        """;
}
