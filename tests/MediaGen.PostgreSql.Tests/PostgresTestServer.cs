namespace MediaGen.PostgreSql.Tests;

/// <summary>Connects tests to the PostgreSQL cluster eng/test.sh starts (MEDIAGEN_POSTGRES), each test in a schema of its own.</summary>
internal static class PostgresTestServer
{
    public const string Variable = "MEDIAGEN_POSTGRES";

    public static string ConnectionString => ServerEnvironment.Require(Variable);

    public static string NewSchema() => "t_" + Guid.NewGuid().ToString("N")[..16];

    public static IOptions<PostgreSqlOptions> Options(string schema, TimeSpan? leaseDuration = null, Action<PostgreSqlOptions>? configure = null)
    {
        var options = new PostgreSqlOptions { SchemaName = schema, LeaseDuration = leaseDuration ?? TimeSpan.FromSeconds(30) };
        configure?.Invoke(options);
        return Microsoft.Extensions.Options.Options.Create(options);
    }

    /// <summary>A database client over a data source of its own (its own pool and listening connection), as another process would have.</summary>
    public static PostgresDatabase Connect(string schema, TimeProvider time, string? connectionString = null, bool applyMigrations = true) =>
        new(NpgsqlDataSource.Create(connectionString ?? ConnectionString), owned: true, schema, applyMigrations, time, NullLogger.Instance);

    public static PostgresJobQueue Queue(PostgresDatabase database, IOptions<PostgreSqlOptions> options) =>
        new(database, options, NullLogger<PostgresJobQueue>.Instance);

    /// <summary>Drops a test's schema and everything in it.</summary>
    public static async Task DropSchemaAsync(string schema)
    {
        await using var dataSource = NpgsqlDataSource.Create(ConnectionString);
        await using var command = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        await command.ExecuteNonQueryAsync();
    }
}
