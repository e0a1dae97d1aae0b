using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// The one Redis connection the queue, job store, credit ledger and event stream share. Created lazily from
/// <see cref="RedisQueueOptions.Configuration"/> (and then disposed with it), or wrapping a caller-owned
/// multiplexer that is never disposed here.
/// </summary>
internal sealed class RedisConnection : IAsyncDisposable, IDisposable
{
    private readonly string? _configuration;
    private readonly bool _owned;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private IConnectionMultiplexer? _multiplexer;
    private bool _disposed;

    private readonly bool _queueWhileDisconnected;
    private readonly bool _threadPoolSocketManager;

    /// <summary>Creates a connection MediaGen owns, connected on first use.</summary>
    public RedisConnection(string configuration, ILogger logger, bool queueWhileDisconnected = false, bool threadPoolSocketManager = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        _configuration = configuration;
        _queueWhileDisconnected = queueWhileDisconnected;
        _threadPoolSocketManager = threadPoolSocketManager;
        _owned = true;
        _logger = logger;
    }

    /// <summary>Wraps a caller-owned multiplexer; it is never disposed here.</summary>
    public RedisConnection(IConnectionMultiplexer multiplexer, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(multiplexer);
        _multiplexer = multiplexer;
        _owned = false;
        _logger = logger;
    }

    /// <summary>The StackExchange.Redis options of a connection MediaGen owns, from its configuration string.</summary>
    internal static ConfigurationOptions CreateOptions(string configuration, bool queueWhileDisconnected, bool threadPoolSocketManager)
    {
        var options = ConfigurationOptions.Parse(configuration);

        // Keep retrying in the background instead of failing for good: API and workers must reconnect by themselves
        // after a Redis restart. Calls made while disconnected fail at once (unless asked to wait) and are mapped to
        // QueueUnavailableException.
        options.AbortOnConnectFail = false;
        if (!queueWhileDisconnected)
        {
            options.BacklogPolicy = BacklogPolicy.FailFast;
        }

        // See RedisQueueOptions.UseThreadPoolSocketManager: cheaper for a worker, slower for a busy API host.
        if (threadPoolSocketManager)
        {
            options.SocketManager = SocketManager.ThreadPool;
        }

        return options;
    }

    public async ValueTask<IConnectionMultiplexer> GetMultiplexerAsync(CancellationToken cancellationToken)
    {
        var multiplexer = Volatile.Read(ref _multiplexer);
        if (multiplexer is not null)
        {
            return multiplexer;
        }

        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_multiplexer is null)
            {
                var created = await ConnectionMultiplexer.ConnectAsync(CreateOptions(_configuration!, _queueWhileDisconnected, _threadPoolSocketManager)).ConfigureAwait(false);
                created.ConnectionFailed += (_, e) => Log.ConnectionFailed(_logger, e.EndPoint?.ToString() ?? "?", e.FailureType.ToString(), e.Exception);
                created.ConnectionRestored += (_, e) => Log.ConnectionRestored(_logger, e.EndPoint?.ToString() ?? "?");
                Volatile.Write(ref _multiplexer, created);
            }

            return _multiplexer;
        }
        catch (RedisConnectionException e)
        {
            throw RedisErrors.Unavailable(e);
        }
        finally
        {
            _connectGate.Release();
        }
    }

    public async ValueTask<IDatabase> GetDatabaseAsync(CancellationToken cancellationToken) =>
        (await GetMultiplexerAsync(cancellationToken).ConfigureAwait(false)).GetDatabase();

    public void Dispose()
    {
        _connectGate.Wait();
        try
        {
            if (!_disposed)
            {
                _disposed = true;
                if (_owned)
                {
                    _multiplexer?.Dispose();
                }
            }
        }
        finally
        {
            _connectGate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _connectGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_owned && _multiplexer is not null)
            {
                await _multiplexer.DisposeAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _connectGate.Release();
        }
    }
}
