namespace MediaGen.Core.Tests.Generators;

public sealed class ProceduralGeneratorBuilderExtensionsTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mediagen-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public void AddProceduralGenerator_AddsBothModelsToTheCatalog()
    {
        using var provider = new ServiceCollection().AddMediaGeneration().AddProceduralGenerator(o => o.CostCredits = 3).Services.BuildServiceProvider();

        var models = provider.GetRequiredService<IMediaGenerationClient>().GetModels();

        Assert.Equal(3, models.Single(m => m.Id == "procedural").CostCredits);
        Assert.Equal(4, models.Single(m => m.Id == "procedural-hd").CostCredits);
    }

    [Fact]
    public void AddProceduralGenerator_Twice_RegistersOneGenerator()
    {
        using var provider = new ServiceCollection().AddMediaGeneration().AddProceduralGenerator().AddProceduralGenerator().Services.BuildServiceProvider();

        Assert.Single(provider.GetServices<IMediaGenerator>());
    }

    [Fact]
    public async Task AddProceduralGenerator_InvalidOptions_StopsTheHostAtStartUp()
    {
        using var host = Host.CreateDefaultBuilder()
            .ConfigureServices(services => services.AddMediaGeneration().AddProceduralGenerator(o => o.ProgressSteps = 0))
            .Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("ProgressSteps", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddProceduralGenerator_SectionWithUnknownKey_FailsNamingIt()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Procedural:SimulatedDurationn"] = "00:00:01" })
            .Build();
        using var provider = new ServiceCollection().AddMediaGeneration().AddProceduralGenerator(configuration.GetSection("Procedural")).Services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IOptions<ProceduralGeneratorOptions>>().Value);

        Assert.Contains("SimulatedDurationn", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddProceduralGenerator_Section_BindsTheOptions()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Procedural:SimulatedDuration"] = "00:00:00.250", ["Procedural:ProgressSteps"] = "5" })
            .Build();
        using var provider = new ServiceCollection().AddMediaGeneration().AddProceduralGenerator(configuration.GetSection("Procedural")).Services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<ProceduralGeneratorOptions>>().Value;

        Assert.Equal((TimeSpan.FromMilliseconds(250), 5), (options.SimulatedDuration, options.ProgressSteps));
    }

    [Fact]
    public async Task SubmitAsync_ProceduralJobWithWorker_StoresAValidPng()
    {
        using var host = Host.CreateDefaultBuilder().ConfigureServices(services => services
            .AddMediaGeneration()
            .UseFileSystemStorage(o => o.RootPath = _root)
            .AddProceduralGenerator(o => { o.SimulatedDuration = TimeSpan.FromMilliseconds(20); o.ProgressSteps = 2; })
            .ConfigureCredits(o => o.InitialBalance = 10)
            .AddWorker()).Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();

        var submitted = await client.SubmitAsync(new GenerationRequest
        {
            Prompt = "a lighthouse",
            Model = ProceduralImageGenerator.ModelId,
            OwnerId = "alice",
            Settings = new GenerationSettings { Width = 64, Height = 128, Seed = 5 },
        });

        var job = await host.Services.WaitForTerminalAsync("alice", submitted.Job.Id);

        Assert.Equal(JobStatus.Succeeded, job.Status);
        var output = Assert.Single(job.Outputs);
        var png = PngTestReader.Decode(await File.ReadAllBytesAsync(Path.Combine(_root, output.Key)));
        Assert.Equal((64, 128), (png.Width, png.Height));
        await host.StopAsync();
    }
}
