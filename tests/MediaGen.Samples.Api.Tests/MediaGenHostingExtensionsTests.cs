namespace MediaGen.Samples.Api.Tests;

public sealed class MediaGenHostingExtensionsTests
{
    [Fact]
    public void AddMediaGenerationFromConfiguration_NoConfiguration_UsesTheInMemoryDefaults()
    {
        var services = new ServiceCollection();

        var setup = services.AddMediaGenerationFromConfiguration(Configuration());

        Assert.Equal(("InMemory", "FileSystem", true, (bool?)null), (setup.QueueProvider, setup.StorageProvider, setup.IsQueueInProcess, setup.WorkerEnabled));
        using var provider = services.BuildServiceProvider();
        Assert.Equal(MediaGenHostingExtensions.SampleInitialBalance, provider.GetRequiredService<IOptions<CreditLedgerOptions>>().Value.InitialBalance);
        Assert.Contains(provider.GetRequiredService<IMediaGenerationClient>().GetModels(), m => m.Id == "procedural");
        Assert.DoesNotContain(provider.GetServices<IHostedService>(), s => s.GetType().Name.Contains("Worker", StringComparison.Ordinal));
    }

    [Fact]
    public void AddMediaGenerationFromConfiguration_Sections_BindEveryOptionsType()
    {
        var services = new ServiceCollection();
        var setup = services.AddMediaGenerationFromConfiguration(Configuration(
            ("MediaGen:MaxAttempts", "7"),
            ("MediaGen:Worker:Enabled", "false"),
            ("MediaGen:Worker:Concurrency", "3"),
            ("MediaGen:Worker:Retry:Delay", "00:00:05"),
            ("MediaGen:Credits:InitialBalance", "42"),
            ("MediaGen:Webhooks:MaxAttempts", "2"),
            ("MediaGen:FileSystem:RootPath", "/tmp/elsewhere"),
            ("MediaGen:InMemoryQueue:LeaseDuration", "00:00:09"),
            ("MediaGen:Generators:Procedural:CostCredits", "5")));

        setup.AddWorker();

        using var provider = services.BuildServiceProvider();
        Assert.False(setup.WorkerEnabled);
        Assert.Equal(7, provider.GetRequiredService<IOptions<MediaGenerationOptions>>().Value.MaxAttempts);
        var worker = provider.GetRequiredService<IOptions<MediaGenerationWorkerOptions>>().Value;
        Assert.Equal((3, TimeSpan.FromSeconds(5)), (worker.Concurrency, worker.Retry.Delay));
        Assert.Equal(42, provider.GetRequiredService<IOptions<CreditLedgerOptions>>().Value.InitialBalance);
        Assert.Equal(2, provider.GetRequiredService<IOptions<WebhookOptions>>().Value.MaxAttempts);
        Assert.Equal("/tmp/elsewhere", provider.GetRequiredService<IOptions<FileSystemStorageOptions>>().Value.RootPath);
        Assert.Equal(TimeSpan.FromSeconds(9), provider.GetRequiredService<IOptions<InMemoryJobQueueOptions>>().Value.LeaseDuration);
        Assert.Equal(5, provider.GetRequiredService<IMediaGenerationClient>().GetModels().Single(m => m.Id == "procedural").CostCredits);
    }

    [Fact]
    public void AddMediaGenerationFromConfiguration_SeveralProblems_ReportsEachWithItsKey()
    {
        var error = Assert.Throws<MediaGenConfigurationException>(() => new ServiceCollection().AddMediaGenerationFromConfiguration(Configuration(
            ("MediaGen:Queue:Provider", "Kafka"),
            ("MediaGen:Queue:Name", "jobs"),
            ("MediaGen:ServiceBus:QueueNmae", "jobs"),
            ("MediaGen:Generators:Replicate:BaseUrl", "http://127.0.0.1:9/"),
            ("MediaGen:Generators:Dalle:Model", "x"),
            ("MediaGen:Worker:Concurrency", "many"))));

        Assert.Equal(6, error.Errors.Count);
        Assert.Contains(error.Errors, e => e.StartsWith("MediaGen:Queue:Provider has the unknown value 'Kafka'", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("MediaGen:Queue:Name is not a known setting", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("MediaGen:ServiceBus:QueueNmae is not a known setting", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("MediaGen:Generators:Replicate:ApiToken is required", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("MediaGen:Generators:Dalle is not a known setting", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("'MediaGen:Worker:Concurrency'", StringComparison.Ordinal));
    }

    [Fact]
    public void AddMediaGenerationFromConfiguration_RedisProvider_UsesRedisWithItsSection()
    {
        var services = new ServiceCollection();
        var setup = services.AddMediaGenerationFromConfiguration(Configuration(
            ("MediaGen:Queue:Provider", "redis"),
            ("MediaGen:Redis:Configuration", "127.0.0.1:1,abortConnect=false"),
            ("MediaGen:Redis:KeyPrefix", "sample")));
        using var provider = services.BuildServiceProvider();

        Assert.Equal("Redis", setup.QueueProvider);
        Assert.Equal("RedisJobQueue", provider.GetRequiredService<IJobQueue>().GetType().Name);
        Assert.Equal("RedisJobStore", provider.GetRequiredService<IJobStore>().GetType().Name);
        Assert.Equal("sample", provider.GetRequiredService<IOptions<RedisQueueOptions>>().Value.KeyPrefix);
    }

    [Fact]
    public void AddMediaGenerationFromConfiguration_ServiceBusQueueWithRedisStore_PutsTheStoreLedgerAndEventsOnRedis()
    {
        var services = new ServiceCollection();
        services.AddMediaGenerationFromConfiguration(Configuration(
            ("MediaGen:Queue:Provider", "ServiceBus"),
            ("MediaGen:ServiceBus:ConnectionString", "Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=a2V5;UseDevelopmentEmulator=true"),
            ("MediaGen:Store:Provider", "redis"),
            ("MediaGen:Redis:Configuration", "127.0.0.1:1,abortConnect=false")));
        using var provider = services.BuildServiceProvider();

        Assert.Equal("ServiceBusJobQueue", provider.GetRequiredService<IJobQueue>().GetType().Name);
        Assert.Equal("RedisJobStore", provider.GetRequiredService<IJobStore>().GetType().Name);
        Assert.Equal("RedisCreditLedger", provider.GetRequiredService<ICreditLedger>().GetType().Name);
        Assert.Equal("RedisJobEventStream", provider.GetRequiredService<IJobEventStream>().GetType().Name);
        Assert.Equal("ComposedJobLifecycleStore", provider.GetRequiredService<IJobLifecycleStore>().GetType().Name);
    }

    [Fact]
    public void AddMediaGenerationFromConfiguration_RedisQueueWithInMemoryStore_ReportsTheKey()
    {
        var error = Assert.Throws<MediaGenConfigurationException>(() => new ServiceCollection().AddMediaGenerationFromConfiguration(Configuration(
            ("MediaGen:Queue:Provider", "Redis"),
            ("MediaGen:Store:Provider", "InMemory"),
            ("MediaGen:Redis:Configuration", "127.0.0.1:1"))));

        Assert.Contains(error.Errors, e => e.StartsWith("MediaGen:Store:Provider must be Redis", StringComparison.Ordinal));
    }

    [Fact]
    public void AddMediaGenerationFromConfiguration_S3Provider_UsesS3StorageWithItsSection()
    {
        var services = new ServiceCollection();

        var setup = services.AddMediaGenerationFromConfiguration(Configuration(
            ("MediaGen:Storage:Provider", "s3"),
            ("MediaGen:S3:BucketName", "media"),
            ("MediaGen:S3:ServiceUrl", "http://127.0.0.1:7480"),
            ("MediaGen:S3:ForcePathStyle", "true"),
            ("MediaGen:S3:RequestChecksumCalculation", "WhenRequired")));

        Assert.Equal("S3", setup.StorageProvider);
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<S3StorageOptions>>().Value;
        Assert.Equal(("media", S3ChecksumCalculation.WhenRequired), (options.BucketName, options.RequestChecksumCalculation));
        Assert.Equal("S3MediaStorage", provider.GetRequiredService<IMediaStorage>().GetType().Name);
    }

    [Fact]
    public void AddMediaGenerationFromConfiguration_BlobProvider_UsesBlobStorageWithItsSection()
    {
        var services = new ServiceCollection();

        var setup = services.AddMediaGenerationFromConfiguration(Configuration(
            ("MediaGen:Storage:Provider", "Blob"),
            ("MediaGen:Blob:ServiceUri", "https://account.blob.core.windows.net/"),
            ("MediaGen:Blob:ContainerName", "media")));

        Assert.Equal("Blob", setup.StorageProvider);
        using var provider = services.BuildServiceProvider();
        Assert.Equal("media", provider.GetRequiredService<IOptions<BlobStorageOptions>>().Value.ContainerName);
        Assert.Equal("BlobMediaStorage", provider.GetRequiredService<IMediaStorage>().GetType().Name);
    }

    [Fact]
    public void AddMediaGenerationFromConfiguration_S3ProviderWithoutBucketOrWithTypo_ReportsTheKeys()
    {
        var error = Assert.Throws<MediaGenConfigurationException>(() => new ServiceCollection().AddMediaGenerationFromConfiguration(Configuration(
            ("MediaGen:Storage:Provider", "S3"),
            ("MediaGen:S3:Bucket", "media"))));

        Assert.Contains(error.Errors, e => e.StartsWith("MediaGen:S3:Bucket is not a known setting", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("MediaGen:S3:BucketName", StringComparison.Ordinal));
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build();
}
