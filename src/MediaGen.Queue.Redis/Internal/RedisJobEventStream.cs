using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// Job events over Redis pub/sub, one channel per job, so a subscriber in any process sees what a worker in any
/// other process publishes. Live and best effort, like the contract: an event published while no one listens,
/// or while the connection is down, is not kept (the job store holds the state).
/// </summary>
internal sealed class RedisJobEventStream : IJobEventStream
{
    private readonly RedisConnection _connection;
    private readonly RedisKeys _keys;
    private readonly ILogger _logger;
    private readonly RedisCommandBatcher<(string Channel, byte[] Payload), RedisResult> _publishes;

    /// <summary>The most events one script call publishes.</summary>
    private const int MaxBatch = 256;

    /// <summary>KEYS the queue's (they route the call to the hash tag's shard); ARGV channel, payload, channel, payload, ...</summary>
    private const string PublishMany = """
        local out = {}
        for i = 1, #ARGV, 2 do out[#out + 1] = redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end
        return out
        """;

    public RedisJobEventStream(RedisConnection connection, IOptions<RedisQueueOptions> options, ILogger<RedisJobEventStream> logger)
    {
        _connection = connection;
        _keys = new RedisKeys(options.Value.KeyPrefix, options.Value.QueueName);
        _logger = logger;
        _publishes = new RedisCommandBatcher<(string, byte[]), RedisResult>(FlushPublishesAsync, MaxBatch);
    }

    internal RedisConnection Connection => _connection;

    /// <summary>An event as published on its job's channel.</summary>
    internal static byte[] Serialize(JobEvent jobEvent) => JsonSerializer.SerializeToUtf8Bytes(jobEvent, RedisJsonContext.Default.JobEvent);

    public async ValueTask PublishAsync(JobEvent jobEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobEvent);

        // Events published while a call is in flight go out together, in order.
        await _publishes.RunAsync((_keys.EventChannel(jobEvent.JobId), Serialize(jobEvent)), cancellationToken).ConfigureAwait(false);
    }

    private async Task<RedisResult[]> FlushPublishesAsync(IReadOnlyList<(string Channel, byte[] Payload)> events)
    {
        var values = new RedisValue[events.Count * 2];
        for (var i = 0; i < events.Count; i++)
        {
            values[2 * i] = events[i].Channel;
            values[(2 * i) + 1] = events[i].Payload;
        }

        var db = await _connection.GetDatabaseAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            return (RedisResult[])(await db.ScriptEvaluateAsync(PublishMany, _keys.QueueScriptKeys, values).ConfigureAwait(false))!;
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
        {
            throw RedisErrors.Unavailable(e);
        }
    }

    public async IAsyncEnumerable<JobEvent> SubscribeAsync(string jobId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var multiplexer = await _connection.GetMultiplexerAsync(cancellationToken).ConfigureAwait(false);
        var channel = Channel(jobId);
        ChannelMessageQueue queue;
        try
        {
            queue = await multiplexer.GetSubscriber().SubscribeAsync(channel).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
        {
            throw RedisErrors.Unavailable(e);
        }

        try
        {
            while (true)
            {
                var message = await queue.ReadAsync(cancellationToken).ConfigureAwait(false);
                var jobEvent = TryRead(message.Message, channel);
                if (jobEvent is not null)
                {
                    yield return jobEvent;
                }
            }
        }
        finally
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
    }

    private JobEvent? TryRead(RedisValue value, RedisChannel channel)
    {
        try
        {
            return JsonSerializer.Deserialize((byte[])value!, RedisJsonContext.Default.JobEvent);
        }
        catch (JsonException e)
        {
            Log.MalformedEventSkipped(_logger, channel.ToString(), e);
            return null;
        }
    }

    private RedisChannel Channel(string jobId) => RedisChannel.Literal(_keys.EventChannel(jobId));
}
