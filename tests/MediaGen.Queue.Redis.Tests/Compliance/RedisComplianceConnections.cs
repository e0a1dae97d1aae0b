using MediaGen.Internal;
using StackExchange.Redis;

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
