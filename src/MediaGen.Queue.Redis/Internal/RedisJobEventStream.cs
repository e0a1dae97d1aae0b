using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using MediaGen.Shared;

namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// Job events over Redis pub/sub, one channel per job, so a subscriber in any process sees what a worker in any
/// other process publishes. Each event is also appended to the job's history, a Redis list under the channel's name
/// whose entries are the published messages, <c>{sequence} {JSON}</c>: the publishing script numbers an event from the
/// job's own counter (a field of its job hash; one past the list's last entry for an id with no job), in the same
/// script call that publishes it, so a subscriber and a history reader see the same numbers. The list keeps the job's latest
/// <see cref="MediaGenerationOptions.EventHistoryLength"/> events and expires
/// <see cref="MediaGenerationOptions.EventHistoryRetention"/> after the latest one.
/// </summary>
/// <remarks>
/// A list rather than a stream: a new stream preallocates a 4 KB node on Redis 7.0, which made a job's few events the
/// largest part of what Redis kept per finished job (4.8 KB of 6.8 KB); the same events in a list take under 1 KB.
/// </remarks>
internal sealed class RedisJobEventStream : IJobEventStream
{
    private readonly RedisConnection _connection;
    private readonly RedisKeys _keys;
    private readonly ILogger _logger;
    private readonly RedisCommandBatcher<(string JobId, byte[] Payload), RedisResult> _publishes;
    private readonly ExactLengthArrays<RedisValue> _publishArgs = new(3 + (2 * 32));

    /// <summary>The most events one script call publishes.</summary>
    private const int MaxBatch = 256;

    /// <summary>
    /// The history's Lua functions, shared with the store and lifecycle scripts. A job's events are numbered by its job
    /// hash's field <c>e</c>, so a step that writes the job numbers its event in the same write, and the numbering goes on
    /// after a silent job's history expired; an id with no job is numbered one past its history's last entry.
    /// <c>events_next(channel)</c> is that number from the history; <c>events_append(channel, sequence, payload, length,
    /// ttl ms[, next payload])</c> appends <c>{sequence} {payload}</c> (and <c>{sequence + 1} {next payload}</c> when given) to
    /// the history list (the key is the channel's name), keeps its latest <c>length</c> entries, renews its time to live
    /// and publishes the same messages on the channel;
    /// <c>events_publish(root, job id, payload, length, ttl ms)</c> numbers the event (taking the job's counter, or
    /// starting it) and appends it.
    /// </summary>
    public const string Functions = """
        local function events_next(channel)
          local last = redis.call('LINDEX', channel, -1)
          if last then return tonumber(string.match(last, '^(%d+) ')) + 1 end
          return 1
        end
        local function events_append(channel, seq, payload, len, ttl, after)
          local entry = string.format('%d', seq) .. ' ' .. payload
          local n, second
          if after then
            second = string.format('%d', seq + 1) .. ' ' .. after
            n = redis.call('RPUSH', channel, entry, second)
          else
            n = redis.call('RPUSH', channel, entry)
          end
          if n > tonumber(len) then redis.call('LTRIM', channel, -tonumber(len), -1) end
          redis.call('PEXPIRE', channel, ttl)
          local heard = redis.call('PUBLISH', channel, entry)
          if second then redis.call('PUBLISH', channel, second) end
          return heard
        end
        local function events_publish(root, id, payload, len, ttl)
          local channel, jk = root .. 'events:' .. id, root .. 'job:' .. id
          local seq = redis.call('HINCRBY', jk, 'e', 1)
          if seq == 1 then
            -- No counter yet: a job that starts one now (from its history), or no job at all (undo the hash just made).
            local job = redis.call('HEXISTS', jk, 'v') == 1
            if not job then redis.call('DEL', jk) end
            seq = events_next(channel)
            if job and seq ~= 1 then redis.call('HSET', jk, 'e', seq) end
          end
          return events_append(channel, seq, payload, len, ttl)
        end

        """;

    /// <summary>KEYS the queue's (they route the call to the hash tag's shard); ARGV 1 history length, 2 its time to live in ms, 3 the key root, then job id, payload, job id, payload, ...</summary>
    private const string PublishMany = Functions + """
        local out = {}
        for i = 4, #ARGV, 2 do out[#out + 1] = events_publish(ARGV[3], ARGV[i], ARGV[i + 1], ARGV[1], ARGV[2]) end
        return out
        """;

    private static readonly RedisScript PublishManyScript = new(PublishMany);

    public RedisJobEventStream(
        RedisConnection connection,
        IOptions<RedisQueueOptions> options,
        ILogger<RedisJobEventStream> logger,
        IOptions<MediaGenerationOptions>? generationOptions = null)
    {
        _connection = connection;
        _keys = new RedisKeys(options.Value.KeyPrefix, options.Value.QueueName);
        _logger = logger;
        var generation = generationOptions?.Value ?? new MediaGenerationOptions();
        HistoryLength = generation.EventHistoryLength;
        HistoryTtlMs = (long)Math.Ceiling(generation.EventHistoryRetention.TotalMilliseconds);
        _publishes = new RedisCommandBatcher<(string, byte[]), RedisResult>(FlushPublishesAsync, MaxBatch);
    }

    internal RedisConnection Connection => _connection;

    /// <summary>How many events a job's history keeps.</summary>
    internal int HistoryLength { get; }

    /// <summary>How long a job's history lives after its latest event, in ms.</summary>
    internal long HistoryTtlMs { get; }

    /// <summary>An event as published on its job's channel.</summary>
    internal static byte[] Serialize(JobEvent jobEvent) => JsonSerializer.SerializeToUtf8Bytes(jobEvent, RedisJsonContext.Default.JobEvent);

    public async ValueTask PublishAsync(JobEvent jobEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobEvent);

        // Events published while a call is in flight go out together, in order.
        await _publishes.RunAsync((jobEvent.JobId, Serialize(jobEvent)), cancellationToken).ConfigureAwait(false);
    }

    private async Task<RedisResult[]> FlushPublishesAsync(IReadOnlyList<(string JobId, byte[] Payload)> events)
    {
        var values = _publishArgs.Rent(3 + (events.Count * 2));
        values[0] = HistoryLength;
        values[1] = HistoryTtlMs;
        values[2] = _keys.Root;
        for (var i = 0; i < events.Count; i++)
        {
            values[3 + (2 * i)] = events[i].JobId;
            values[4 + (2 * i)] = events[i].Payload;
        }

        var db = await _connection.GetDatabaseAsync(CancellationToken.None).ConfigureAwait(false);
        RedisResult[] results;
        try
        {
            results = (RedisResult[])(await PublishManyScript.EvaluateAsync(db, _keys.QueueScriptKeys, values).ConfigureAwait(false))!;
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
        {
            // The client may still hold a failed call's arguments: the array is dropped, not reused.
            throw RedisErrors.Unavailable(e);
        }

        _publishArgs.Return(values);
        return results;
    }

    public async ValueTask<IAsyncEnumerator<JobEvent>> OpenSubscriptionAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var multiplexer = await _connection.GetMultiplexerAsync(cancellationToken).ConfigureAwait(false);
        var channel = Channel(jobId);
        ChannelMessageQueue queue;
        try
        {
            // Completes once Redis confirmed the SUBSCRIBE: later publishes reach the queue.
            queue = await multiplexer.GetSubscriber().SubscribeAsync(channel).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
        {
            throw RedisErrors.Unavailable(e);
        }

        var events = System.Threading.Channels.Channel.CreateUnbounded<JobEvent>(new() { SingleReader = true, SingleWriter = true });
        queue.OnMessage(message =>
        {
            if (TryRead(message.Message, channel) is { } jobEvent)
            {
                events.Writer.TryWrite(jobEvent);
            }
        });
        return new ChannelEventSubscription(events.Reader, () => UnsubscribeAsync(queue), cancellationToken);
    }

    private static async ValueTask UnsubscribeAsync(ChannelMessageQueue queue)
    {
        try
        {
            await queue.UnsubscribeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e) || e is ObjectDisposedException)
        {
            // The subscription dies with the connection anyway.
        }
    }

    public async ValueTask<IReadOnlyList<JobEvent>> GetHistoryAsync(string jobId, long afterSequence, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        var db = await _connection.GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        RedisValue[] entries;
        try
        {
            entries = await db.ListRangeAsync(_keys.EventChannel(jobId)).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
        {
            throw RedisErrors.Unavailable(e);
        }

        var events = new List<JobEvent>(entries.Length);
        var source = RedisChannel.Literal(_keys.EventChannel(jobId));
        foreach (var entry in entries)
        {
            if (TryRead(entry, source) is { } jobEvent && jobEvent.Sequence > afterSequence)
            {
                events.Add(jobEvent);
            }
        }

        return events;
    }

    /// <summary>Reads a published message or history entry, <c>{sequence} {JSON}</c>.</summary>
    private JobEvent? TryRead(RedisValue value, RedisChannel channel)
    {
        var bytes = (byte[])value!;
        var space = Array.IndexOf(bytes, (byte)' ');
        if (space <= 0 || !long.TryParse(bytes.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
        {
            Log.MalformedEventSkipped(_logger, channel.ToString(), new FormatException("The message does not start with a sequence number."));
            return null;
        }

        return TryDeserialize(bytes.AsSpan(space + 1), channel.ToString()) is { } jobEvent ? jobEvent with { Sequence = sequence } : null;
    }

    private JobEvent? TryDeserialize(ReadOnlySpan<byte> json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize(json, RedisJsonContext.Default.JobEvent);
        }
        catch (JsonException e)
        {
            Log.MalformedEventSkipped(_logger, source, e);
            return null;
        }
    }

    private RedisChannel Channel(string jobId) => RedisChannel.Literal(_keys.EventChannel(jobId));
}
