namespace MediaGen.Queue.Redis.Tests.Compliance;

/// <summary>
/// Hands the compliance suites Redis clients: each suite instance gets its own key prefix, and every client (the
/// first and each peer) its own multiplexer, so "another process" really is another Redis client.
/// </summary>
internal sealed class RedisComplianceConnections : IAsyncDisposable
{
    private readonly List<ConnectionMultiplexer> _multiplexers = [];

    public string Prefix { get; } = RedisTestServer.NewPrefix();

    public async Task<RedisConnection> ConnectAsync()
    {
        var (connection, multiplexer) = await RedisTestServer.ConnectAsync();
        lock (_multiplexers)
        {
            _multiplexers.Add(multiplexer);
        }

        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var multiplexer in _multiplexers)
        {
            await multiplexer.DisposeAsync();
        }
    }
}

/// <summary>
/// Creates the clients of one seam for a compliance suite whose peer is another process: the first and every peer are
/// each a new Redis client on the suite instance's prefix, so they share state only through Redis.
/// </summary>
/// <typeparam name="T">The seam.</typeparam>
/// <param name="create">Creates a client on a connection with the prefix's options.</param>
internal sealed class RedisComplianceClients<T>(Func<RedisConnection, IOptions<RedisQueueOptions>, T> create)
{
    private RedisComplianceConnections? _connections;

    /// <summary>Creates a client; the connections are made on the first call and handed to <paramref name="track"/> for disposal.</summary>
    public async ValueTask<T> CreateAsync(Func<RedisComplianceConnections, RedisComplianceConnections> track)
    {
        _connections ??= track(new RedisComplianceConnections());
        return create(await _connections.ConnectAsync(), RedisTestServer.Options(_connections.Prefix));
    }
}
