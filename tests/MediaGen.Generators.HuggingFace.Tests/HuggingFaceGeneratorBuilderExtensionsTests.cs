using Microsoft.Extensions.Configuration;

namespace MediaGen.Generators.HuggingFace.Tests;

public sealed class HuggingFaceGeneratorBuilderExtensionsTests : FakeServerTests<FakeHuggingFaceServer>
{
    protected override Task<FakeHuggingFaceServer> StartServerAsync() => FakeHuggingFaceServer.StartAsync();

    [Fact]
    public void AddHuggingFaceGenerator_FromConfiguration_ServesTheMergedCatalog()
    {
        var section = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MediaGen:Generators:HuggingFace:BaseUrl"] = Server.BaseUrl.AbsoluteUri,
            ["MediaGen:Generators:HuggingFace:ApiToken"] = FakeHuggingFaceServer.Token,
            ["MediaGen:Generators:HuggingFace:Models:hf-flux-1-dev:CostCredits"] = "5",
            ["MediaGen:Generators:HuggingFace:Models:hf-flux-schnell:Model"] = "black-forest-labs/FLUX.1-schnell",
            ["MediaGen:Generators:HuggingFace:Models:hf-flux-schnell:CostCredits"] = "1",
            ["MediaGen:Generators:HuggingFace:Models:hf-flux-schnell:Parameters:steps:Input"] = "num_inference_steps",
            ["MediaGen:Generators:HuggingFace:Models:hf-flux-schnell:Parameters:steps:Kind"] = "Integer",
            ["MediaGen:Generators:HuggingFace:Models:hf-flux-schnell:Parameters:steps:Maximum"] = "4",
        }).Build().GetSection("MediaGen:Generators:HuggingFace");
        using var provider = new ServiceCollection().AddMediaGeneration().AddHuggingFaceGenerator(section).Services.BuildServiceProvider();

        var generator = Assert.Single(provider.GetServices<IMediaGenerator>());

        Assert.Equal("huggingface", generator.Name);
        Assert.Equal(5, generator.Models.Single(m => m.Id == "hf-flux-1-dev").CostCredits);
        Assert.Equal(50, generator.Models.Single(m => m.Id == "hf-flux-1-dev").Settings.Parameters["steps"].Maximum);
        Assert.Equal(ModelParameterKind.Integer, generator.Models.Single(m => m.Id == "hf-flux-schnell").Settings.Parameters["steps"].Kind);
    }

    [Fact]
    public async Task AddHuggingFaceGenerator_WithoutToken_FailsAtStartupNamingTheSetting()
    {
        using var host = Host.CreateDefaultBuilder().ConfigureServices(s => s.AddMediaGeneration().AddHuggingFaceGenerator(o => o.BaseUrl = Server.BaseUrl)).Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("MediaGen:Generators:HuggingFace:ApiToken", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitAsync_WithWorkerOnInMemoryDefaults_JobSucceedsWithTheImageInStorage()
    {
        using var host = Host.CreateDefaultBuilder().ConfigureServices(s => s
            .AddMediaGeneration()
            .UseFileSystemStorage(o => o.RootPath = Root.Path)
            .ConfigureCredits(o => o.InitialBalance = 100)
            .AddHuggingFaceGenerator(o => TestSupport.Configure(o, Server))
            .AddWorker()).Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        Server.InjectLoading(0);

        var submitted = await client.SubmitAsync(new GenerationRequest
        {
            Prompt = TestSupport.Prompt,
            Model = TestSupport.Model,
            OwnerId = "bob",
            Settings = new GenerationSettings { Width = 512, Height = 512, OutputFormat = OutputFormat.Png },
        });
        var job = await host.Services.WaitForTerminalAsync("bob", submitted.Job.Id);

        await host.StopAsync();

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal($"{job.Id}/0.png", Assert.Single(job.Outputs).Key);
        Assert.Equal(FakeHuggingFaceServer.ImageBytes(Server.ImageSize, png: true), await File.ReadAllBytesAsync(Path.Combine(Root.Path, job.Id, "0.png")));
        Assert.Equal(92, await host.Services.GetRequiredService<ICreditLedger>().GetBalanceAsync("bob"));
        Assert.Equal(1, Server.Served);
    }
}
