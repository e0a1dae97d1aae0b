namespace MediaGen.Queue.Redis.Tests;

/// <summary>Connects tests to the redis-server eng/test.sh starts (MEDIAGEN_REDIS), each test under its own key prefix.</summary>
internal static class RedisTestServer
{
    public const string Variable = "MEDIAGEN_REDIS";

    public static string Address => ServerEnvironment.Require(Variable);

    public static string NewPrefix() => "test-" + Guid.NewGuid().ToString("N")[..12];

    public static IOptions<RedisQueueOptions> Options(string prefix, TimeSpan? leaseDuration = null, Action<RedisQueueOptions>? configure = null)
    {
        var options = new RedisQueueOptions { KeyPrefix = prefix, LeaseDuration = leaseDuration ?? TimeSpan.FromSeconds(30) };
        configure?.Invoke(options);
        return Microsoft.Extensions.Options.Options.Create(options);
    }

    /// <summary>
    /// The environment of sample hosts (API and workers as processes) on this server, under <paramref name="prefix"/>,
    /// with outputs in <paramref name="media"/>; each test adds its generators and limits.
    /// </summary>
    public static Dictionary<string, string> SampleHostEnvironment(string prefix, TimeSpan lease, DirectoryInfo media) => new()
    {
        ["MediaGen__Queue__Provider"] = "Redis",
        ["MediaGen__Redis__Configuration"] = Address,
        ["MediaGen__Redis__KeyPrefix"] = prefix,
        ["MediaGen__Redis__LeaseDuration"] = lease.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
        ["MediaGen__FileSystem__RootPath"] = media.FullName,
        ["MediaGen__Credits__InitialBalance"] = "1000",
        ["Logging__LogLevel__Default"] = "Warning",
    };

    /// <summary>A connection over a multiplexer of its own, so two of them behave like two processes.</summary>
    public static async Task<(RedisConnection Connection, ConnectionMultiplexer Multiplexer)> ConnectAsync(string? address = null)
    {
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(address ?? Address);
        return (new RedisConnection(multiplexer, NullLogger.Instance), multiplexer);
    }

    public static RedisJobQueue Queue(RedisConnection connection, IOptions<RedisQueueOptions> options, TimeProvider time) =>
        new(connection, options, time, NullLogger<RedisJobQueue>.Instance);
}
