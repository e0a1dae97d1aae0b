using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// Cancel signals over Redis pub/sub, on one channel for the key prefix (<see cref="RedisKeys.CancelChannel"/>): a
/// process publishes the job id, every subscribed process hears it. Live and best effort, like the contract: a signal
/// published while a process is disconnected is not kept, and that process's lease renewal reads the cancel from the
/// job. StackExchange.Redis subscribes again by itself after a reconnect.
/// </summary>
internal sealed class RedisJobCancelSignal : IJobCancelSignal
{
    private readonly RedisConnection _connection;
    private readonly RedisChannel _channel;

    public RedisJobCancelSignal(RedisConnection connection, IOptions<RedisQueueOptions> options)
    {
        _connection = connection;
        _channel = RedisChannel.Literal(new RedisKeys(options.Value.KeyPrefix, options.Value.QueueName).CancelChannel);
    }

    public async ValueTask PublishAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var multiplexer = await _connection.GetMultiplexerAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await multiplexer.GetSubscriber().PublishAsync(_channel, jobId).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
        {
            throw RedisErrors.Unavailable(e);
        }
    }

    public async ValueTask<IAsyncDisposable> SubscribeAsync(Action<string> onCancel, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(onCancel);
        var multiplexer = await _connection.GetMultiplexerAsync(cancellationToken).ConfigureAwait(false);
        var subscriber = multiplexer.GetSubscriber();
        Action<RedisChannel, RedisValue> handler = (_, value) =>
        {
            if (!value.IsNullOrEmpty)
            {
                onCancel(value.ToString());
            }
        };
        try
        {
            await subscriber.SubscribeAsync(_channel, handler).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
        {
            throw RedisErrors.Unavailable(e);
        }

        return new Subscription(subscriber, _channel, handler);
    }

    private sealed class Subscription(ISubscriber subscriber, RedisChannel channel, Action<RedisChannel, RedisValue> handler) : IAsyncDisposable
    {
        private int _disposed;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            try
            {
                await subscriber.UnsubscribeAsync(channel, handler).ConfigureAwait(false);
            }
            catch (Exception e) when (RedisErrors.IsUnavailable(e) || e is ObjectDisposedException)
            {
                // The subscription dies with the connection anyway.
            }
        }
    }
}
