namespace MediaGen.Queue.Redis.Tests;

/// <summary>
/// A test class whose clients are each a new Redis client (its own multiplexer) on one key prefix per test, so a second
/// client really is another process's view; the multiplexers are disposed after the test.
/// </summary>
public abstract class RedisClientTests : IAsyncLifetime
{
    private readonly RedisComplianceConnections _redis = new();

    /// <summary>The test's key prefix.</summary>
    private protected string Prefix => _redis.Prefix;

    /// <inheritdoc />
    public Task InitializeAsync() => Task.CompletedTask;

    /// <inheritdoc />
    public async Task DisposeAsync() => await _redis.DisposeAsync();

    /// <summary>Connects a new client.</summary>
    private protected Task<RedisConnection> ConnectAsync() => _redis.ConnectAsync();
}
