namespace MediaGen.Samples.Api.Tests;

public sealed class PostgreSqlSampleConfigurationTests
{
    private const string ConnectionString = "Host=127.0.0.1;Port=1;Username=mediagen;Database=postgres";

    [Fact]
    public void AddMediaGenerationFromConfiguration_PostgreSqlProvider_PutsEverySeamOnPostgreSqlWithItsSection()
    {
        var services = new ServiceCollection();

        var setup = services.AddMediaGenerationFromConfiguration(Configuration(
            ("MediaGen:Queue:Provider", "postgresql"),
            ("MediaGen:PostgreSql:ConnectionString", ConnectionString),
            ("MediaGen:PostgreSql:SchemaName", "media"),
            ("MediaGen:PostgreSql:LeaseDuration", "00:00:05")));

        Assert.Equal("PostgreSql", setup.QueueProvider);
        Assert.False(setup.IsQueueInProcess);
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<PostgreSqlOptions>>().Value;
        Assert.Equal(("media", TimeSpan.FromSeconds(5), ConnectionString), (options.SchemaName, options.LeaseDuration, options.ConnectionString));
        Assert.Equal("PostgresJobQueue", provider.GetRequiredService<IJobQueue>().GetType().Name);
        Assert.Equal("PostgresJobStore", provider.GetRequiredService<IJobStore>().GetType().Name);
        Assert.Equal("PostgresCreditLedger", provider.GetRequiredService<ICreditLedger>().GetType().Name);
        Assert.Equal("PostgresJobEventStream", provider.GetRequiredService<IJobEventStream>().GetType().Name);
        Assert.Equal("PostgresJobLifecycleStore", provider.GetRequiredService<IJobLifecycleStore>().GetType().Name);
    }

    [Fact]
    public void AddMediaGenerationFromConfiguration_ServiceBusQueueWithPostgreSqlStore_PutsTheStoreLedgerAndEventsOnPostgreSql()
    {
        var services = new ServiceCollection();
        var setup = services.AddMediaGenerationFromConfiguration(Configuration(
            ("MediaGen:Queue:Provider", "ServiceBus"),
            ("MediaGen:ServiceBus:ConnectionString", "Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=a2V5;UseDevelopmentEmulator=true"),
            ("MediaGen:Store:Provider", "PostgreSql"),
            ("MediaGen:PostgreSql:ConnectionString", ConnectionString)));
        using var provider = services.BuildServiceProvider();

        Assert.Equal("ServiceBus", setup.QueueProvider);
        Assert.Equal("ServiceBusJobQueue", provider.GetRequiredService<IJobQueue>().GetType().Name);
        Assert.Equal("PostgresJobStore", provider.GetRequiredService<IJobStore>().GetType().Name);
        Assert.Equal("PostgresCreditLedger", provider.GetRequiredService<ICreditLedger>().GetType().Name);
        Assert.Equal("PostgresJobEventStream", provider.GetRequiredService<IJobEventStream>().GetType().Name);
        Assert.Equal("ComposedJobLifecycleStore", provider.GetRequiredService<IJobLifecycleStore>().GetType().Name);
    }

    [Theory]
    [InlineData("MediaGen:PostgreSql:ConectionString", ConnectionString, "MediaGen:PostgreSql:ConectionString is not a known setting")]
    [InlineData("MediaGen:PostgreSql:SchemaName", "Media-Prod", "MediaGen:PostgreSql:SchemaName: The schema name must be")]
    [InlineData("MediaGen:PostgreSql:LeaseDuration", "soon", "'MediaGen:PostgreSql:LeaseDuration'")]
    [InlineData("MediaGen:PostgreSql:MaxReceiveBatchSize", "0", "MediaGen:PostgreSql:MaxReceiveBatchSize")]
    public void AddMediaGenerationFromConfiguration_PostgreSqlSectionWithABadKey_FailsNamingTheKey(string key, string value, string expected)
    {
        var values = new List<(string, string)> { ("MediaGen:Queue:Provider", "PostgreSql"), (key, value) };
        if (!key.EndsWith("ConectionString", StringComparison.Ordinal))
        {
            values.Add(("MediaGen:PostgreSql:ConnectionString", ConnectionString));
        }

        var error = Assert.Throws<MediaGenConfigurationException>(() => new ServiceCollection().AddMediaGenerationFromConfiguration(Configuration([.. values])));

        Assert.Contains(error.Errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void AddMediaGenerationFromConfiguration_PostgreSqlProviderWithoutConnectionString_SaysWhatToSet()
    {
        var error = Assert.Throws<MediaGenConfigurationException>(() => new ServiceCollection().AddMediaGenerationFromConfiguration(Configuration(
            ("MediaGen:Queue:Provider", "PostgreSql"))));

        Assert.Equal(["MediaGen:PostgreSql:ConnectionString is required with the PostgreSql provider: an Npgsql connection string such as 'Host=db;Database=app;Username=mediagen;Password=...'."], error.Errors);
    }

    [Fact]
    public void AddMediaGenerationFromConfiguration_PostgreSqlQueueWithAnotherStore_ReportsTheKey()
    {
        var error = Assert.Throws<MediaGenConfigurationException>(() => new ServiceCollection().AddMediaGenerationFromConfiguration(Configuration(
            ("MediaGen:Queue:Provider", "PostgreSql"),
            ("MediaGen:Store:Provider", "InMemory"),
            ("MediaGen:PostgreSql:ConnectionString", ConnectionString))));

        Assert.Contains(error.Errors, e => e.StartsWith("MediaGen:Store:Provider must be PostgreSql (or unset) with the PostgreSql queue", StringComparison.Ordinal));
    }

    [Fact]
    public void Start_PostgreSqlProviderWithATypo_FailsNamingTheKey()
    {
        using var factory = new ApiFactory(new Dictionary<string, string?>
        {
            ["MediaGen:Queue:Provider"] = "PostgreSql",
            ["MediaGen:PostgreSql:ConnectionString"] = ConnectionString,
            ["MediaGen:PostgreSql:LeaseDurration"] = "00:00:05",
        });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        Assert.Contains("MediaGen:PostgreSql:LeaseDurration is not a known setting", error.ToString(), StringComparison.Ordinal);
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build();
}
