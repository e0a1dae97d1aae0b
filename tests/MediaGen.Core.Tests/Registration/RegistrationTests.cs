namespace MediaGen.Core.Tests.Registration;

public sealed class RegistrationTests
{
    [Fact]
    public void UseQueue_Twice_ThrowsNamingBoth()
    {
        var builder = new ServiceCollection().AddMediaGeneration().UseInMemoryQueue();
        var e = Assert.Throws<InvalidOperationException>(() => builder.UseQueue(_ => Substitute.For<IJobQueue>()));
        Assert.Contains("'InMemoryJobQueue' (MediaGen.Core)", e.Message, StringComparison.Ordinal);
        Assert.Contains("'IJobQueue' (MediaGen.Abstractions)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UseQueue_ReplacesInMemoryDefault()
    {
        var queue = Substitute.For<IJobQueue>();
        using var provider = new ServiceCollection().AddMediaGeneration().UseQueue(_ => queue).Services.BuildServiceProvider();
        Assert.Same(queue, provider.GetRequiredService<IJobQueue>());
    }

    [Fact]
    public void AddMediaGeneration_Twice_SharesRegistrations()
    {
        var services = new ServiceCollection();
        services.AddMediaGeneration().UseInMemoryQueue();
        var again = services.AddMediaGeneration();
        Assert.Throws<InvalidOperationException>(() => again.UseQueue(_ => Substitute.For<IJobQueue>()));
        Assert.Single(services, d => d.ServiceType == typeof(IMediaGenerationClient));
    }

    [Fact]
    public void AddGenerator_SameTypeTwice_RegisteredOnce()
    {
        var services = new ServiceCollection();
        services.AddMediaGeneration().AddGenerator<FixedGenerator>().AddGenerator<FixedGenerator>();
        Assert.Single(services, d => d.ServiceType == typeof(IMediaGenerator));
    }

    [Fact]
    public async Task Start_InvalidWorkerOptions_FailsNamingTheOption()
    {
        using var host = Host.CreateDefaultBuilder()
            .ConfigureServices(s => s.AddMediaGeneration().AddWorker(o => o.Concurrency = 0))
            .Build();
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Concurrency", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddMediaGeneration_SectionWithUnknownKey_FailsNamingIt()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MediaGen:MaxAttempts"] = "3",
            ["MediaGen:MaxAtempts"] = "4",
        }).Build();
        using var provider = new ServiceCollection().AddMediaGeneration(configuration.GetSection("MediaGen")).Services.BuildServiceProvider();
        var e = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IOptions<MediaGenerationOptions>>().Value);
        Assert.Contains("MaxAtempts", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddMediaGeneration_SectionWithSubsections_BindsItsOwnValuesOnly()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MediaGen:MaxAttempts"] = "7",
            ["MediaGen:Queue:Provider"] = "Redis",
            ["MediaGen:Worker:Concurrency"] = "4",
        }).Build();
        using var provider = new ServiceCollection().AddMediaGeneration(configuration.GetSection("MediaGen")).Services.BuildServiceProvider();
        Assert.Equal(7, provider.GetRequiredService<IOptions<MediaGenerationOptions>>().Value.MaxAttempts);
    }

    [Fact]
    public void Catalog_TwoGeneratorsServingOneModel_StartupErrorNamesBoth()
    {
        using var provider = new ServiceCollection().AddMediaGeneration()
            .AddGenerator(new FixedGenerator("a")).AddGenerator(new FixedGenerator("b"))
            .Services.BuildServiceProvider();
        var e = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IMediaGenerationClient>());
        Assert.Contains("'a'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'b'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CallerOwnedGenerator_NotDisposedWithContainer()
    {
        var generator = new FixedGenerator("owned");
        var provider = new ServiceCollection().AddMediaGeneration().AddGenerator(generator).Services.BuildServiceProvider();
        _ = provider.GetServices<IMediaGenerator>().ToList();
        await provider.DisposeAsync();
        Assert.False(generator.Disposed);
    }

    private sealed class FixedGenerator(string name) : IMediaGenerator, IDisposable
    {
        public FixedGenerator()
            : this("fixed")
        {
        }

        public bool Disposed { get; private set; }

        public string Name { get; } = name;

        public IReadOnlyList<ModelDescriptor> Models { get; } = [new ModelDescriptor { Id = "shared", CostCredits = 1 }];

        public ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(new GenerationResult([]));

        public void Dispose() => Disposed = true;
    }
}
