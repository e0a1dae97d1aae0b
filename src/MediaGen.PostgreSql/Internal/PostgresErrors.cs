using System.Net.Sockets;
using Npgsql;

namespace MediaGen.PostgreSql.Internal;

/// <summary>Maps Npgsql failures that mean "PostgreSQL cannot serve us right now" to <see cref="QueueUnavailableException"/>.</summary>
internal static class PostgresErrors
{
    public static bool IsUnavailable(Exception e) => e switch
    {
        // Connection refused or lost, a server shutting down or starting up, too many connections, a pool exhausted.
        PostgresException p => p.SqlState.StartsWith("08", StringComparison.Ordinal)
            || p.SqlState is "57P01" or "57P02" or "57P03" or "53300" or "53400",
        NpgsqlException n => n.IsTransient || n.InnerException is SocketException or IOException or TimeoutException,
        SocketException => true,
        _ => false,
    };

    public static QueueUnavailableException Unavailable(Exception e) =>
        new($"PostgreSQL cannot be reached or cannot serve requests right now ({e.GetType().Name}: {FirstLine(e.Message)}). " +
            "Check that the server in MediaGen:PostgreSql:ConnectionString is running and reachable; the call can be retried.", e);

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }
}
