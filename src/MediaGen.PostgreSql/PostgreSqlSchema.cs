using MediaGen.PostgreSql.Internal;
using Npgsql;

namespace MediaGen;

/// <summary>
/// MediaGen's schema in a PostgreSQL database: apply its migrations from a deployment step when hosts run with
/// <see cref="PostgreSqlOptions.ApplyMigrationsOnStartup"/> off, as production databases usually are.
/// </summary>
public static class PostgreSqlSchema
{
    /// <summary>The names of the migrations this package carries, oldest first (for example <c>0001_initial</c>).</summary>
    public static IReadOnlyList<string> Migrations { get; } = [.. PostgresMigrations.All.Select(m => m.Name)];

    /// <summary>
    /// Applies the migrations <paramref name="schemaName"/> lacks, in one transaction, under an advisory lock (so it is safe
    /// while hosts start). Idempotent: a current schema is left as it is.
    /// </summary>
    /// <param name="dataSource">The database; the caller keeps owning it.</param>
    /// <param name="schemaName">The schema, as in <see cref="PostgreSqlOptions.SchemaName"/>.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The names of the migrations applied by this call, oldest first.</returns>
    /// <exception cref="InvalidOperationException">A migration could not be applied (the message names it); nothing was changed.</exception>
    public static Task<IReadOnlyList<string>> ApplyMigrationsAsync(NpgsqlDataSource dataSource, string schemaName = "mediagen", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        CheckSchemaName(schemaName);
        return PostgresMigrations.ApplyAsync(dataSource, schemaName, cancellationToken);
    }

    /// <summary>Lists the migrations <paramref name="schemaName"/> lacks, oldest first; empty when it is current.</summary>
    /// <param name="dataSource">The database; the caller keeps owning it.</param>
    /// <param name="schemaName">The schema, as in <see cref="PostgreSqlOptions.SchemaName"/>.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The missing migrations' names.</returns>
    public static Task<IReadOnlyList<string>> GetPendingMigrationsAsync(NpgsqlDataSource dataSource, string schemaName = "mediagen", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        CheckSchemaName(schemaName);
        return PostgresMigrations.FindMissingAsync(dataSource, schemaName, cancellationToken);
    }

    private static void CheckSchemaName(string schemaName)
    {
        ArgumentException.ThrowIfNullOrEmpty(schemaName);
        var options = new PostgreSqlOptions { SchemaName = schemaName };
        if (new PostgreSqlOptionsValidator().Validate(null, options).Failed)
        {
            throw new ArgumentException("The schema name must be 1 to 30 lowercase letters, digits or '_', starting with a letter or '_'.", nameof(schemaName));
        }
    }
}
