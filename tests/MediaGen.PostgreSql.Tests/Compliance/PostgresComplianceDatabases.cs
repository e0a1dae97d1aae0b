namespace MediaGen.PostgreSql.Tests.Compliance;

/// <summary>
/// Hands the compliance suites (and the other tests) PostgreSQL clients: each suite instance gets its own schema, and every client (the first and
/// each peer) its own data source, so "another process" really is another set of connections. Drops the schema after.
/// </summary>
internal sealed class PostgresComplianceDatabases(TimeProvider time) : IAsyncDisposable
{
    private readonly List<PostgresDatabase> _databases = [];

    public string Schema { get; } = PostgresTestServer.NewSchema();

    public PostgresDatabase Connect(string? connectionString = null)
    {
        var database = PostgresTestServer.Connect(Schema, time, connectionString);
        lock (_databases)
        {
            _databases.Add(database);
        }

        return database;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }

        await PostgresTestServer.DropSchemaAsync(Schema);
    }
}
