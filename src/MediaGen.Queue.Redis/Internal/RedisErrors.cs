using StackExchange.Redis;

namespace MediaGen.Queue.Redis.Internal;

/// <summary>Maps StackExchange.Redis failures that mean "Redis cannot serve us right now" to <see cref="QueueUnavailableException"/>.</summary>
internal static class RedisErrors
{
    public static bool IsUnavailable(Exception e) => e switch
    {
        RedisConnectionException or RedisTimeoutException => true,

        // Replies a healthy client gets while the server restarts, fails over or is out of memory.
        RedisServerException s => s.Message.StartsWith("LOADING", StringComparison.Ordinal)
            || s.Message.StartsWith("READONLY", StringComparison.Ordinal)
            || s.Message.StartsWith("MASTERDOWN", StringComparison.Ordinal)
            || s.Message.StartsWith("BUSY", StringComparison.Ordinal)
            || s.Message.StartsWith("OOM", StringComparison.Ordinal)
            || s.Message.StartsWith("TRYAGAIN", StringComparison.Ordinal)
            || s.Message.StartsWith("CLUSTERDOWN", StringComparison.Ordinal),
        _ => false,
    };

    public static QueueUnavailableException Unavailable(Exception e) =>
        new($"Redis cannot be reached or cannot serve requests right now ({e.GetType().Name}: {FirstLine(e.Message)}). " +
            "Check that the server in MediaGen:Redis:Configuration is running and reachable; the call can be retried.", e);

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }
}
