using System.Globalization;
using System.Reflection;
using Npgsql;

namespace MediaGen.PostgreSql.Internal;

/// <summary>
/// The package's versioned SQL migrations (embedded <c>Migrations/NNNN_name.sql</c>), applied in order, each recorded in
/// <c>{schema}.schema_migrations</c>. Applying takes a transaction-scoped advisory lock keyed by the schema, so processes
/// that start together apply each migration exactly once; all pending migrations go in one transaction, so a failure
/// leaves the schema as it was.
/// </summary>
internal static class PostgresMigrations
{
    private const string ResourcePrefix = "MediaGen.PostgreSql.Migrations.";

    /// <summary>Every migration the package carries, oldest first.</summary>
    public static IReadOnlyList<Migration> All { get; } = Load();

    /// <summary>Applies the migrations <paramref name="schema"/> lacks; returns the names of those applied.</summary>
    public static async Task<IReadOnlyList<string>> ApplyAsync(NpgsqlDataSource dataSource, string schema, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", cancellationToken, "mediagen.migrations:" + schema).ConfigureAwait(false);
        await ExecuteAsync(
            connection,
            transaction,
            $"CREATE SCHEMA IF NOT EXISTS {Quote(schema)}; " +
            $"CREATE TABLE IF NOT EXISTS {Quote(schema)}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
            cancellationToken).ConfigureAwait(false);
        var applied = await ReadAppliedAsync(connection, transaction, schema, cancellationToken).ConfigureAwait(false);
        var done = new List<string>();
        foreach (var migration in All)
        {
            if (applied.Contains(migration.Version))
            {
                continue;
            }

            try
            {
                await ExecuteAsync(connection, transaction, migration.Render(schema), cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(
                    connection,
                    transaction,
                    $"INSERT INTO {Quote(schema)}.schema_migrations (version, name) VALUES ($1, $2)",
                    cancellationToken,
                    migration.Version,
                    migration.Name).ConfigureAwait(false);
            }
            catch (PostgresException e)
            {
                throw new InvalidOperationException(
                    $"MediaGen's PostgreSQL migration '{migration.Name}' could not be applied to schema '{schema}': {e.MessageText} (SQLSTATE {e.SqlState}). " +
                    "Nothing was changed; fix the cause and start again.",
                    e);
            }

            done.Add(migration.Name);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return done;
    }

    /// <summary>The names of the migrations <paramref name="schema"/> lacks, oldest first.</summary>
    public static async Task<IReadOnlyList<string>> FindMissingAsync(NpgsqlDataSource dataSource, string schema, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var exists = new NpgsqlCommand("SELECT to_regclass($1) IS NOT NULL", connection);
        await using var existsScope = exists.ConfigureAwait(false);
        exists.Parameters.Add(new NpgsqlParameter { Value = Quote(schema) + ".schema_migrations" });
        var applied = (bool)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!
            ? await ReadAppliedAsync(connection, null, schema, cancellationToken).ConfigureAwait(false)
            : [];
        return [.. All.Where(m => !applied.Contains(m.Version)).Select(m => m.Name)];
    }

    /// <summary>The schema name as a quoted identifier (validated to need no escaping).</summary>
    public static string Quote(string schema) => "\"" + schema + "\"";

    private static async Task<HashSet<int>> ReadAppliedAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string schema, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand($"SELECT version FROM {Quote(schema)}.schema_migrations", connection, transaction);
        await using var commandScope = command.ConfigureAwait(false);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        var versions = new HashSet<int>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            versions.Add(reader.GetInt32(0));
        }

        return versions;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken, params object[] values)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        await using var commandScope = command.ConfigureAwait(false);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static List<Migration> Load()
    {
        var assembly = typeof(PostgresMigrations).Assembly;
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal) || !resource.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            var name = resource[ResourcePrefix.Length..^".sql".Length];
            var version = int.Parse(name[..name.IndexOf('_', StringComparison.Ordinal)], NumberStyles.None, CultureInfo.InvariantCulture);
            migrations.Add(new Migration(version, name, Read(assembly, resource)));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        return migrations;
    }

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>One migration: its number, its name (<c>0001_initial</c>) and its SQL with <c>{schema}</c> and <c>{channel}</c> to fill in.</summary>
    internal sealed record Migration(int Version, string Name, string Sql)
    {
        public string Render(string schema) =>
            Sql.Replace("{schema}", Quote(schema), StringComparison.Ordinal).Replace("{channel}", PostgresChannels.Prefix(schema), StringComparison.Ordinal);
    }
}
