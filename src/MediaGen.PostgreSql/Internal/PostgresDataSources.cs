using System.Data.Common;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace MediaGen.PostgreSql.Internal;

/// <summary>Creates the data source MediaGen owns, from <see cref="PostgreSqlOptions.ConnectionString"/>.</summary>
internal static class PostgresDataSources
{
    /// <summary>
    /// The automatic preparation MediaGen asks for unless the connection string sets <c>Max Auto Prepare</c> itself: every
    /// step runs the same few dozen statements, and preparing them once per connection spares PostgreSQL parsing and
    /// planning them on every call (about a fifth of the server's CPU per job in the benchmark). Pool resets keep prepared
    /// statements.
    /// </summary>
    public const int DefaultMaxAutoPrepare = 64;

    /// <summary>
    /// Whether MediaGen's data source skips the session reset when a connection goes back to the pool, unless the
    /// connection string sets <c>No Reset On Close</c> itself. MediaGen leaves no session state on a pooled connection:
    /// no <c>SET</c>, no temporary table, no cursor, advisory locks only for a transaction, and the listening connection
    /// runs <c>UNLISTEN *</c> before it goes back. The reset is seven statements (prepared statements are kept) sent before
    /// the next command on every reuse, about seven per step, which cost PostgreSQL more than the step's own statement.
    /// An open transaction is still rolled back when its connection is returned.
    /// </summary>
    public const bool DefaultNoResetOnClose = true;

    public static NpgsqlDataSource Create(string connectionString, ILoggerFactory loggerFactory)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString).UseLoggerFactory(loggerFactory);
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        if (!given.ContainsKey("Max Auto Prepare") && !given.ContainsKey("MaxAutoPrepare"))
        {
            builder.ConnectionStringBuilder.MaxAutoPrepare = DefaultMaxAutoPrepare;
        }

        if (!given.ContainsKey("No Reset On Close") && !given.ContainsKey("NoResetOnClose"))
        {
            builder.ConnectionStringBuilder.NoResetOnClose = DefaultNoResetOnClose;
        }

        return builder.Build();
    }
}
