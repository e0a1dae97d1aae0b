namespace MediaGen.Internal;

/// <summary>
/// The job store's Lua scripts. ARGV 1 is always the key root (<c>{prefix}:</c>); keys are built from it inside the
/// scripts, all under one hash tag. A job is a hash at <c>job:{id}</c> with d (JSON), v (version), o (owner),
/// s (status number), q (list sequence), k (idempotency key). Indexes: <c>owner-all:{owner}</c> and
/// <c>owner-s{status}:{owner}</c> (scored by sequence, for newest-first listing), <c>status:{status}</c> (scored by
/// UpdatedAt ms, for the sweeper), <c>idem:{owner}</c> (key to job id), and <c>expiry</c> (finished jobs scored by
/// the time they may be removed). Every write removes a few expired jobs, so retention needs no background task.
/// </summary>
internal static class StoreScripts
{
    private const string Common = """
        local root = ARGV[1]
        local function fmt(n) return string.format('%.0f', n) end
        local function delete_job(id)
          local jk = root .. 'job:' .. id
          local f = redis.call('HMGET', jk, 'o', 's', 'k')
          if not f[1] then return 0 end
          redis.call('DEL', jk)
          redis.call('ZREM', root .. 'owner-all:' .. f[1], id)
          redis.call('ZREM', root .. 'owner-s' .. f[2] .. ':' .. f[1], id)
          redis.call('ZREM', root .. 'status:' .. f[2], id)
          redis.call('ZREM', root .. 'expiry', id)
          if f[3] and f[3] ~= '' then
            local ik = root .. 'idem:' .. f[1]
            if redis.call('HGET', ik, f[3]) == id then redis.call('HDEL', ik, f[3]) end
          end
          return 1
        end
        local function purge(now)
          local ids = redis.call('ZRANGEBYSCORE', root .. 'expiry', '-inf', now, 'LIMIT', 0, 20)
          for _, id in ipairs(ids) do delete_job(id) end
        end
        local function retain(id, status, now, retention)
          if retention >= 0 and (status == '2' or status == '3' or status == '4') then
            redis.call('ZADD', root .. 'expiry', fmt(now + retention), id)
          end
        end

        """;

    /// <summary>
    /// ARGV 2 id, 3 owner, 4 idempotency key or '', 5 JSON, 6 status, 7 updated at ms, 8 now ms, 9 retention ms or -1.
    /// Returns { 1 } when created, { 0, existing JSON } when the key already names a job, { -1 } when the id exists.
    /// </summary>
    public const string Create = Common + """
        local id, owner, key = ARGV[2], ARGV[3], ARGV[4]
        local now = tonumber(ARGV[8])
        purge(now)
        if key ~= '' then
          local existing = redis.call('HGET', root .. 'idem:' .. owner, key)
          if existing then
            local d = redis.call('HGET', root .. 'job:' .. existing, 'd')
            if d then return { 0, d } end
          end
        end
        local jk = root .. 'job:' .. id
        if redis.call('EXISTS', jk) == 1 then return { -1 } end
        local seq = redis.call('INCR', root .. 'job-seq')
        redis.call('HSET', jk, 'd', ARGV[5], 'v', 1, 'o', owner, 's', ARGV[6], 'q', seq, 'k', key)
        if key ~= '' then redis.call('HSET', root .. 'idem:' .. owner, key, id) end
        redis.call('ZADD', root .. 'owner-all:' .. owner, seq, id)
        redis.call('ZADD', root .. 'owner-s' .. ARGV[6] .. ':' .. owner, seq, id)
        redis.call('ZADD', root .. 'status:' .. ARGV[6], ARGV[7], id)
        retain(id, ARGV[6], now, tonumber(ARGV[9]))
        return { 1 }
        """;

    /// <summary>
    /// ARGV 2 id, 3 expected version, 4 JSON (already carrying the new version), 5 status, 6 updated at ms, 7 now ms,
    /// 8 retention ms or -1. Returns 1 when written, 0 when the job is missing or its version differs.
    /// </summary>
    public const string Update = Common + """
        local id = ARGV[2]
        local jk = root .. 'job:' .. id
        local f = redis.call('HMGET', jk, 'v', 'o', 's', 'q')
        if not f[1] or f[1] ~= ARGV[3] then return 0 end
        local owner, old, new = f[2], f[3], ARGV[5]
        redis.call('HSET', jk, 'd', ARGV[4], 'v', tonumber(ARGV[3]) + 1, 's', new)
        if old ~= new then
          redis.call('ZREM', root .. 'owner-s' .. old .. ':' .. owner, id)
          redis.call('ZADD', root .. 'owner-s' .. new .. ':' .. owner, f[4], id)
          redis.call('ZREM', root .. 'status:' .. old, id)
        end
        redis.call('ZADD', root .. 'status:' .. new, ARGV[6], id)
        local now = tonumber(ARGV[7])
        retain(id, new, now, tonumber(ARGV[8]))
        purge(now)
        return 1
        """;

    /// <summary>ARGV 2 id. Returns 1 when the job existed.</summary>
    public const string Delete = Common + """
        return delete_job(ARGV[2])
        """;

    /// <summary>
    /// ARGV 2 owner, 3 status or '', 4 cursor sequence or '', 5 count. Returns { sequence, JSON, ... } newest first.
    /// </summary>
    public const string List = """
        local root = ARGV[1]
        local zk
        if ARGV[3] == '' then zk = root .. 'owner-all:' .. ARGV[2] else zk = root .. 'owner-s' .. ARGV[3] .. ':' .. ARGV[2] end
        local max = '+inf'
        if ARGV[4] ~= '' then max = '(' .. ARGV[4] end
        local ids = redis.call('ZREVRANGEBYSCORE', zk, max, '-inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[5]))
        local out = {}
        for i = 1, #ids, 2 do
          local d = redis.call('HGET', root .. 'job:' .. ids[i], 'd')
          if d then
            out[#out + 1] = ids[i + 1]
            out[#out + 1] = d
          end
        end
        return out
        """;

    /// <summary>ARGV 2 status, 3 updated-before ms (exclusive), 4 max count. Returns the JSON of each job.</summary>
    public const string ListStale = """
        local root = ARGV[1]
        local ids = redis.call('ZRANGEBYSCORE', root .. 'status:' .. ARGV[2], '-inf', '(' .. ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
        local out = {}
        for _, id in ipairs(ids) do
          local d = redis.call('HGET', root .. 'job:' .. id, 'd')
          if d then out[#out + 1] = d end
        end
        return out
        """;
}
