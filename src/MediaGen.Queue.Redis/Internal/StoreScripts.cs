namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// The job store's Lua scripts. Keys and ARGV 1-2 as in <see cref="RedisLua"/> (the queue's, so that removing a job
/// removes its message too); ARGV 3 is the key root (<c>{prefix}:</c>), from which the store's keys are built inside
/// the scripts, all under one hash tag. A job is its JSON, a string at <c>data:{id}</c>, and a hash at <c>job:{id}</c>
/// with the fields the scripts read: v (version), o (owner),
/// s (status number), q (list sequence), k (idempotency key), e (the number of its latest event, see <see cref="RedisJobEventStream.Functions"/>), m (the credit reservation member of its current run, see
/// <see cref="RedisKeys.ReservationMember"/>, kept only where the scripts cannot spell it from o and u), u (the current run's id, once the job was retried: its message's id). The
/// JSON is kept apart because a hash field longer than 64 bytes turns the whole hash into Redis's hashtable encoding,
/// which cost a finished job about 340 bytes more than the two keys do. With owner ids and idempotency keys of up to 64
/// bytes the hash stays a compact listpack. Indexes: <c>owner-all:{owner}</c> and
/// <c>owner-s{status}:{owner}</c> (scored by sequence, for newest-first listing), <c>status:{status}</c> (scored by
/// UpdatedAt ms, for the sweeper), <c>idem:{owner}</c> (key to job id), and <c>expiry</c> (finished jobs scored by
/// the time they may be removed). Creating or finishing a job removes a few expired ones, so retention needs no background task.
/// </summary>
internal static class StoreScripts
{
    /// <summary>
    /// The store's operations as Lua functions over <c>root</c>, shared with the lifecycle scripts.
    /// <c>store_find</c> returns { 0, existing JSON } when the owner's idempotency key already names a job, { -1 } when
    /// the id exists, else nil; <c>store_insert</c> writes a new job (with the number of its first event, when it has one);
    /// <c>store_update</c> returns 1 when written, 0 when the job is missing or its version differs, and given the job's
    /// event channel, numbers the step's event (or <c>events</c> of them, 1 by default) in the same write and returns the first number too. Expired jobs are removed a few at a time (<c>store_purge(now, limit)</c>)
/// by every create and every update that finishes a job, and by every lifecycle call, once for all its steps (not by
/// the updates in between: a job finishes once, so removals keep pace with what expires).
/// Removing a job (<c>store_delete</c>) removes its queue message (the
    /// message id is the job id), its settled credit reservation and its event history (see <see cref="RedisJobEventStream"/>),
    /// so nothing of a finished job outlives its retention (an open reservation stays for the sweeper to settle).
    /// </summary>
    public const string Functions = """
        local root = ARGV[3]
        -- A run's reservation member as the client spells it (RedisKeys.ReservationMember): the owner's length counts
        -- UTF-16 code units, so a non-ASCII owner's is counted from its UTF-8 bytes (one per lead byte, two for a 4-byte
        -- sequence). The job hash keeps 'm' only where this spelling differs from the client's.
        local function store_member(owner, run)
          local n = #owner
          if string.find(owner, '[\128-\255]') then
            n = 0
            for i = 1, #owner do
              local b = string.byte(owner, i)
              if b < 128 or b >= 192 then n = n + 1 end
              if b >= 240 then n = n + 1 end
            end
          end
          return n .. ':' .. owner .. ':' .. run
        end
        local function store_delete(id)
          local jk = root .. 'job:' .. id
          local f = redis.call('HMGET', jk, 'o', 's', 'k', 'm', 'u')
          if not f[1] then return 0 end
          redis.call('DEL', jk, root .. 'data:' .. id, root .. 'events:' .. id)
          redis.call('ZREM', root .. 'owner-all:' .. f[1], id)
          redis.call('ZREM', root .. 'owner-s' .. f[2] .. ':' .. f[1], id)
          redis.call('ZREM', root .. 'status:' .. f[2], id)
          redis.call('ZREM', root .. 'expiry', id)
          if f[3] and f[3] ~= '' then
            local ik = root .. 'idem:' .. f[1]
            if redis.call('HGET', ik, f[3]) == id then redis.call('HDEL', ik, f[3]) end
          end
          -- Each run's settled reservation (run r's id is the job id, then id.r); an open one stays for the sweeper.
          local runs = f[5] and tonumber(string.match(f[5], '%.(%d+)$')) or 1
          for r = 1, runs do
            local member = (r == runs and f[4]) or store_member(f[1], r == 1 and id or (id .. '.' .. r))
            local rk = root .. 'credit:res:' .. member
            if redis.call('HEXISTS', rk, 's') == 1 then redis.call('DEL', rk) end
          end
          queue_remove(id)
          if f[5] and f[5] ~= id then queue_remove(f[5]) end
          return 1
        end
        local function store_purge(now, limit)
          local ids = redis.call('ZRANGEBYSCORE', root .. 'expiry', '-inf', now, 'LIMIT', 0, limit)
          for _, id in ipairs(ids) do store_delete(id) end
        end
        local function store_finished(status) return status == '2' or status == '3' or status == '4' end
        local function store_retain(id, status, was_finished, now, retention)
          if store_finished(status) then
            if retention >= 0 then redis.call('ZADD', root .. 'expiry', fmt(now + retention), id) end
          elseif was_finished then
            redis.call('ZREM', root .. 'expiry', id)
          end
        end
        local function store_find(id, owner, key)
          if key ~= '' then
            local existing = redis.call('HGET', root .. 'idem:' .. owner, key)
            if existing then
              local d = redis.call('GET', root .. 'data:' .. existing)
              if d then return { 0, d } end
            end
          end
          if redis.call('EXISTS', root .. 'job:' .. id) == 1 then return { -1 } end
          return nil
        end
        local function store_insert(id, owner, key, member, json, status, updated, now, retention, event)
          local jk = root .. 'job:' .. id
          local seq = redis.call('INCR', root .. 'job-seq')
          if event then
            redis.call('HSET', jk, 'v', 1, 'o', owner, 's', status, 'q', seq, 'k', key, 'e', event)
          else
            redis.call('HSET', jk, 'v', 1, 'o', owner, 's', status, 'q', seq, 'k', key)
          end
          if member ~= store_member(owner, id) then redis.call('HSET', jk, 'm', member) end
          redis.call('SET', root .. 'data:' .. id, json)
          if key ~= '' then redis.call('HSET', root .. 'idem:' .. owner, key, id) end
          redis.call('ZADD', root .. 'owner-all:' .. owner, seq, id)
          redis.call('ZADD', root .. 'owner-s' .. status .. ':' .. owner, seq, id)
          redis.call('ZADD', root .. 'status:' .. status, updated, id)
          store_retain(id, status, false, now, retention)
        end
        local function store_update(id, expected, json, new, updated, now, retention, channel, events)
          local jk = root .. 'job:' .. id
          local f = redis.call('HMGET', jk, 'v', 'o', 's', 'q', 'e')
          if not f[1] or f[1] ~= expected then return 0 end
          local owner, old = f[2], f[3]
          local event = nil
          if channel then
            if f[5] then event = tonumber(f[5]) + 1 else event = events_next(channel) end
            redis.call('HSET', jk, 'v', tonumber(expected) + 1, 's', new, 'e', event + (events or 1) - 1)
          else
            redis.call('HSET', jk, 'v', tonumber(expected) + 1, 's', new)
          end
          redis.call('SET', root .. 'data:' .. id, json)
          if old ~= new then
            redis.call('ZREM', root .. 'owner-s' .. old .. ':' .. owner, id)
            redis.call('ZADD', root .. 'owner-s' .. new .. ':' .. owner, f[4], id)
            redis.call('ZREM', root .. 'status:' .. old, id)
          end
          redis.call('ZADD', root .. 'status:' .. new, updated, id)
          store_retain(id, new, store_finished(old), now, retention)
          return 1, event
        end

        """;

    private const string Header = RedisLua.Prelude + QueueScripts.Functions + RedisJobEventStream.Functions + Functions;

    /// <summary>
    /// ARGV 4 id, 5 owner, 6 idempotency key or '', 7 JSON, 8 status, 9 updated at ms, 10 now ms, 11 retention ms or -1,
    /// 12 reservation member. Returns { 1 } when created, { 0, existing JSON } when the key already names a job, { -1 } when the id exists.
    /// </summary>
    public const string Create = Header + """
        local now = tonumber(ARGV[10])
        store_purge(now, 20)
        local found = store_find(ARGV[4], ARGV[5], ARGV[6])
        if found then return found end
        store_insert(ARGV[4], ARGV[5], ARGV[6], ARGV[12], ARGV[7], ARGV[8], ARGV[9], now, tonumber(ARGV[11]))
        return { 1 }
        """;

    /// <summary>
    /// ARGV 4 id, 5 expected version, 6 JSON (already carrying the new version), 7 status, 8 updated at ms, 9 now ms,
    /// 10 retention ms or -1. Returns 1 when written, 0 when the job is missing or its version differs.
    /// </summary>
    public const string Update = Header + """
        local written = store_update(ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], tonumber(ARGV[9]), tonumber(ARGV[10]))
        if written == 1 and store_finished(ARGV[7]) then store_purge(tonumber(ARGV[9]), 20) end
        return written
        """;

    /// <summary>ARGV 4 id. Returns 1 when the job existed.</summary>
    public const string Delete = Header + """
        return store_delete(ARGV[4])
        """;

    /// <summary>
    /// ARGV 4 id, 5 expected version. Deletes the job only while it is finished at that version (a retry writes a new
    /// one). Returns 1 when it was deleted, 0 when it is missing, changed or unfinished.
    /// </summary>
    public const string DeleteFinished = Header + """
        local f = redis.call('HMGET', root .. 'job:' .. ARGV[4], 'v', 's')
        if not f[1] or f[1] ~= ARGV[5] or not store_finished(f[2]) then return 0 end
        return store_delete(ARGV[4])
        """;

    /// <summary>
    /// ARGV 4 owner, 5 status or '', 6 cursor sequence or '', 7 count. Returns { sequence, JSON, ... } newest first.
    /// </summary>
    public const string List = """
        local root = ARGV[3]
        local zk
        if ARGV[5] == '' then zk = root .. 'owner-all:' .. ARGV[4] else zk = root .. 'owner-s' .. ARGV[5] .. ':' .. ARGV[4] end
        local max = '+inf'
        if ARGV[6] ~= '' then max = '(' .. ARGV[6] end
        local ids = redis.call('ZREVRANGEBYSCORE', zk, max, '-inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[7]))
        local out = {}
        for i = 1, #ids, 2 do
          local d = redis.call('GET', root .. 'data:' .. ids[i])
          if d then
            out[#out + 1] = ids[i + 1]
            out[#out + 1] = d
          end
        end
        return out
        """;

    /// <summary>ARGV 4 and on: job ids. Returns each job's JSON, or nil for a job that does not exist, in order.</summary>
    public const string GetMany = """
        local root = ARGV[3]
        local out = {}
        for i = 4, #ARGV do out[i - 3] = redis.call('GET', root .. 'data:' .. ARGV[i]) end
        return out
        """;

    /// <summary>The oldest jobs in a status not written since a time: ARGV 4 status, 5 updated-before ms (exclusive), 6 max count. Returns the JSON of each job.</summary>
    public const string ListStale = """
        local root = ARGV[3]
        local ids = redis.call('ZRANGEBYSCORE', root .. 'status:' .. ARGV[4], '-inf', '(' .. ARGV[5], 'LIMIT', 0, tonumber(ARGV[6]))
        """ + ReadJobs;

    /// <summary>The newest jobs in a status: ARGV 4 status, 5 max count. Returns the JSON of each job, newest first.</summary>
    public const string ListRecent = """
        local root = ARGV[3]
        local ids = redis.call('ZREVRANGE', root .. 'status:' .. ARGV[4], 0, tonumber(ARGV[5]) - 1)
        """ + ReadJobs;

    /// <summary>The end of the listing scripts: the JSON of each job in <c>ids</c> that still exists, in order.</summary>
    private const string ReadJobs = """

        local out = {}
        for _, id in ipairs(ids) do
          local d = redis.call('GET', root .. 'data:' .. id)
          if d then out[#out + 1] = d end
        end
        return out
        """;
}
