using Microsoft.Extensions.Hosting;

namespace MediaGen.PostgreSql.Tests;

public sealed class PostgreSqlMediaGenerationBuilderExtensionsTests
{
    [Fact]
    public void UsePostgreSql_FromSection_ResolvesEveryPostgreSqlSeamAndOneTransactionSteps()
    {
        var section = Section(new() { ["MediaGen:PostgreSql:ConnectionString"] = "Host=127.0.0.1;Port=1", ["MediaGen:PostgreSql:SchemaName"] = "app", ["MediaGen:PostgreSql:LeaseDuration"] = "00:01:00" });
        var services = new ServiceCollection();
        services.AddMediaGeneration().UsePostgreSql(section);
        using var provider = services.BuildServiceProvider();

        Assert.IsType<PostgresJobQueue>(provider.GetRequiredService<IJobQueue>());
        Assert.IsType<PostgresJobStore>(provider.GetRequiredService<IJobStore>());
        Assert.IsType<PostgresCreditLedger>(provider.GetRequiredService<ICreditLedger>());
        Assert.IsType<PostgresJobEventStream>(provider.GetRequiredService<IJobEventStream>());
        Assert.IsType<PostgresJobCancelSignal>(provider.GetRequiredService<IJobCancelSignal>());
        Assert.IsType<PostgresProviderPauseStore>(provider.GetRequiredService<IProviderPauseStore>());
        Assert.IsType<PostgresResultCacheIndex>(provider.GetRequiredService<IResultCacheIndex>());
        Assert.IsType<PostgresWorkerRegistry>(provider.GetRequiredService<IWorkerRegistry>());
        Assert.IsType<PostgresJobLifecycleStore>(provider.GetRequiredService<IJobLifecycleStore>());
        Assert.Equal(TimeSpan.FromMinutes(1), provider.GetRequiredService<IOptions<PostgreSqlOptions>>().Value.LeaseDuration);
        Assert.Equal("app", provider.GetRequiredService<PostgresDatabase>().Schema);
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Port=1", PostgresDataSources.DefaultMaxAutoPrepare, true)]
    [InlineData("Host=127.0.0.1;Port=1;Max Auto Prepare=0", 0, true)]
    [InlineData("Host=127.0.0.1;Port=1;maxautoprepare=5", 5, true)]
    [InlineData("Host=127.0.0.1;Port=1;No Reset On Close=false", PostgresDataSources.DefaultMaxAutoPrepare, false)]
    [InlineData("Host=127.0.0.1;Port=1;noresetonclose=false", PostgresDataSources.DefaultMaxAutoPrepare, false)]
    public void UsePostgreSql_OwnedDataSource_PreparesStatementsAndSkipsThePoolResetUnlessTheConnectionStringSaysOtherwise(
        string connectionString, int maxAutoPrepare, bool noResetOnClose)
    {
        var services = new ServiceCollection();
        services.AddMediaGeneration().UsePostgreSql(o => o.ConnectionString = connectionString);
        using var provider = services.BuildServiceProvider();

        var dataSource = provider.GetRequiredService<PostgresDatabase>().DataSource;

        var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        Assert.Equal((maxAutoPrepare, noResetOnClose), (settings.MaxAutoPrepare, settings.NoResetOnClose));
    }

    [Fact]
    public void UsePostgreSql_SchemaNameThatNeedsQuoting_FailsValidation()
    {
        var services = new ServiceCollection();
        services.AddMediaGeneration().UsePostgreSql(o => { o.ConnectionString = "Host=db"; o.SchemaName = "Media\"Gen"; });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<PostgreSqlOptions>>().Value);
        Assert.Contains("schema name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UsePostgreSqlStore_BesideAnotherQueue_KeepsThatQueueAndComposesTheSteps()
    {
        var services = new ServiceCollection();
        services.AddMediaGeneration().UseInMemoryQueue().UsePostgreSqlStore(o => o.ConnectionString = "Host=127.0.0.1;Port=1");
        using var provider = services.BuildServiceProvider();

        Assert.IsNotType<PostgresJobQueue>(provider.GetRequiredService<IJobQueue>());
        Assert.IsType<PostgresJobStore>(provider.GetRequiredService<IJobStore>());
        Assert.IsNotType<PostgresJobLifecycleStore>(provider.GetRequiredService<IJobLifecycleStore>());
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task SubmitAsync_IdenticalRequestOnAnApiOnlyHost_IsServedFromTheIndexTheWorkerHostWrote()
    {
        var schema = PostgresTestServer.NewSchema();
        try
        {
            await ResultCacheAcrossHosts.RunAsync(b => b.UsePostgreSql(o => { o.ConnectionString = PostgresTestServer.ConnectionString; o.SchemaName = schema; }));
        }
        finally
        {
            await PostgresTestServer.DropSchemaAsync(schema);
        }
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task UsePostgreSql_CallerOwnedDataSource_IsNotDisposedWithTheContainer()
    {
        var schema = PostgresTestServer.NewSchema();
        await using var dataSource = NpgsqlDataSource.Create(PostgresTestServer.ConnectionString);
        try
        {
            var services = new ServiceCollection();
            services.AddMediaGeneration().UsePostgreSql(dataSource, o => o.SchemaName = schema);
            await using (var provider = services.BuildServiceProvider())
            {
                var queue = provider.GetRequiredService<IJobQueue>();
                await queue.EnqueueAsync(new QueueMessage("job"));
                Assert.Equal(1, (await queue.GetDepthAsync()).Ready);
            }

            await using var command = dataSource.CreateCommand($"SELECT count(*) FROM \"{schema}\".queue_messages");
            Assert.Equal(1L, await command.ExecuteScalarAsync());
        }
        finally
        {
            await PostgresTestServer.DropSchemaAsync(schema);
        }
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task SubmitAsync_WithWorkerOnPostgreSql_EveryJobSucceedsAndIsChargedOnce()
    {
        var schema = PostgresTestServer.NewSchema();
        try
        {
            await WorkerOnBackend.EveryJobSucceedsAndIsChargedOnceAsync(b => b.UsePostgreSql(o => { o.ConnectionString = PostgresTestServer.ConnectionString; o.SchemaName = schema; }));
        }
        finally
        {
            await PostgresTestServer.DropSchemaAsync(schema);
        }
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task SubmitAsync_ServerDown_ThrowsQueueUnavailable()
    {
        var services = new ServiceCollection();
        services.AddMediaGeneration()
            .UsePostgreSql(o => o.ConnectionString = $"Host=127.0.0.1;Port={FreePort.Next()};Username=mediagen;Timeout=2")
            .AddGenerator(new InstantGenerator());
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IMediaGenerationClient>();

        var error = await Assert.ThrowsAsync<QueueUnavailableException>(() =>
            client.SubmitAsync(new GenerationRequest { Prompt = "a cat", Model = InstantGenerator.ModelId, OwnerId = "owner" }).AsTask());

        Assert.Equal(MediaGenErrorCodes.QueueUnavailable, error.ErrorCode);
    }

    private static IConfigurationSection Section(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection("MediaGen:PostgreSql");
}
