namespace MediaGen.PostgreSql.Tests;

public sealed class PostgresMigrationsTests : IAsyncLifetime
{
    private readonly string _schema = PostgresTestServer.NewSchema();
    private NpgsqlDataSource? _dataSource;

    private NpgsqlDataSource DataSource => _dataSource ??= NpgsqlDataSource.Create(PostgresTestServer.ConnectionString);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await PostgresTestServer.DropSchemaAsync(_schema);
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task ApplyMigrationsAsync_EightStartersAtOnce_ApplyEachMigrationOnce()
    {
        // Separate data sources, as separate processes would have.
        var sources = Enumerable.Range(0, 8).Select(_ => NpgsqlDataSource.Create(PostgresTestServer.ConnectionString)).ToList();
        try
        {
            var applied = await Task.WhenAll(sources.Select(s => Task.Run(() => PostgreSqlSchema.ApplyMigrationsAsync(s, _schema))));

            Assert.Equal(PostgreSqlSchema.Migrations, Assert.Single(applied, a => a.Count > 0));
            Assert.Equal(7, applied.Count(a => a.Count == 0));
            Assert.Empty(await PostgreSqlSchema.GetPendingMigrationsAsync(DataSource, _schema));
            await using var command = DataSource.CreateCommand($"SELECT count(*) FROM \"{_schema}\".schema_migrations");
            Assert.Equal((long)PostgreSqlSchema.Migrations.Count, await command.ExecuteScalarAsync());
        }
        finally
        {
            foreach (var source in sources)
            {
                await source.DisposeAsync();
            }
        }
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task ApplyMigrationsAsync_CurrentSchema_AppliesNothing()
    {
        await PostgreSqlSchema.ApplyMigrationsAsync(DataSource, _schema);

        Assert.Empty(await PostgreSqlSchema.ApplyMigrationsAsync(DataSource, _schema));
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task ApplyMigrationsAsync_MigrationThatCannotApply_NamesItAndChangesNothing()
    {
        // A table of the same name in the way: the first migration's CREATE TABLE fails.
        await using (var command = DataSource.CreateCommand($"CREATE SCHEMA \"{_schema}\"; CREATE TABLE \"{_schema}\".credit_balances (x int)"))
        {
            await command.ExecuteNonQueryAsync();
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgreSqlSchema.ApplyMigrationsAsync(DataSource, _schema));

        Assert.Contains("'0001_initial'", error.Message, StringComparison.Ordinal);
        Assert.Contains("credit_balances", error.Message, StringComparison.Ordinal);
        await using var check = DataSource.CreateCommand($"SELECT to_regclass('\"{_schema}\".jobs') IS NULL AND to_regclass('\"{_schema}\".schema_migrations') IS NULL");
        Assert.Equal(true, await check.ExecuteScalarAsync());
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task EnsureReadyAsync_MigrationsOffAndSchemaMissing_FailsNamingTheFirstMissingMigration()
    {
        await using var database = PostgresTestServer.Connect(_schema, TimeProvider.System, applyMigrations: false);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new PostgresJobStore(database).GetAsync("job").AsTask());

        Assert.Contains("'0001_initial'", error.Message, StringComparison.Ordinal);
        Assert.Contains("PostgreSqlSchema.ApplyMigrationsAsync", error.Message, StringComparison.Ordinal);

        // Once applied from elsewhere, the same process goes on without a restart.
        await PostgreSqlSchema.ApplyMigrationsAsync(DataSource, _schema);
        Assert.Null(await new PostgresJobStore(database).GetAsync("job"));
    }

    [Fact]
    public async Task ApplyMigrationsAsync_InvalidSchemaName_ThrowsArgumentException()
    {
        await using var dataSource = NpgsqlDataSource.Create("Host=127.0.0.1;Port=1");

        await Assert.ThrowsAsync<ArgumentException>(() => PostgreSqlSchema.ApplyMigrationsAsync(dataSource, "Bad\"Name"));
    }
}
