using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace MediaGen.Generators.ExtensionsAI.Tests;

public sealed class ImageGeneratorBuilderExtensionsTests : FakeServerTests<FakeOpenAIImagesServer>
{
    protected override Task<FakeOpenAIImagesServer> StartServerAsync() => FakeOpenAIImagesServer.StartAsync();

    [Fact]
    public async Task SubmitAsync_WithWorkerOnInMemoryDefaults_JobSucceedsWithTheImagesInStorageChargedPerImage()
    {
        var (job, balance) = await RunAsync(Request("alice", outputCount: 2), configure: o => TestSupport.Configure(o, cost: 4));

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal([$"{job.Id}/0.png", $"{job.Id}/1.png"], job.Outputs.Select(o => o.Key));
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(FakeOpenAIImagesServer.ImageBytes(1, i, Server.ImageSize), await File.ReadAllBytesAsync(Path.Combine(Root.Path, job.Id, $"{i}.png")));
        }

        Assert.Equal((1, 2), (Server.Calls, Server.ImagesGenerated));
        Assert.Equal((8L, 0L), (job.CreditsCharged, job.CreditsRefunded));
        Assert.Equal(100 - 8, balance);
    }

    [Fact]
    public async Task SubmitAsync_ImagesAsUrls_TheWorkerStreamsThemIntoStorage()
    {
        var (job, balance) = await RunAsync(Request("alice", outputCount: 3), o =>
        {
            TestSupport.Configure(o);
            o.Models[TestSupport.Model].ResponseFormat = ImageGenerationResponseFormat.Uri;
            o.AllowedNonPublicOutputHosts.Add("127.0.0.1"); // the fake's image URLs are on loopback
        });

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(3, Server.Downloads);
        Assert.Equal(100 - 12, balance);
        Assert.Equal(FakeOpenAIImagesServer.ImageBytes(1, 2, Server.ImageSize), await File.ReadAllBytesAsync(Path.Combine(Root.Path, job.Id, "2.png")));
    }

    [Fact]
    public async Task SubmitAsync_ImagesAsUrlsOnALoopbackHostNotAllowListed_FailsRefundedWithoutDownloading()
    {
        var (job, balance) = await RunAsync(Request("alice", outputCount: 2), o =>
        {
            TestSupport.Configure(o);
            o.Models[TestSupport.Model].ResponseFormat = ImageGenerationResponseFormat.Uri;
        });

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(0, Server.Downloads);
        Assert.Equal(100, balance);
        Assert.Equal(MediaGenErrorCodes.GeneratorPermanent, job.Error?.Code);
        Assert.Contains("output 1: Refused to download image 1", job.Error?.Message, StringComparison.Ordinal);
        Assert.Contains("non-public address", job.Error?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitAsync_ServerErrorThenImages_RetriesAndChargesOnce()
    {
        Server.Inject(500, "The server had an error while processing your request.", type: "server_error");
        var (job, balance) = await RunAsync(Request("bob"));

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(2, job.Attempt);
        Assert.Equal((2, 1), (Server.Calls, Server.ImagesGenerated));
        Assert.Equal(100 - 4, balance);
    }

    [Fact]
    public async Task SubmitAsync_ContentPolicy_FailsAtOnceAndRefunds()
    {
        Server.Inject(400, "Your request was rejected as a result of our safety system.", "content_policy_violation");
        var (job, balance) = await RunAsync(Request("carol", outputCount: 2));

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(MediaGenErrorCodes.ContentFiltered, job.Error?.Code);
        Assert.Equal(1, Server.Calls);
        Assert.Equal((8L, 8L), (job.CreditsCharged, job.CreditsRefunded));
        Assert.Equal(100, balance);
    }

    [Theory]
    [InlineData(true, 100)]
    [InlineData(false, 96)]
    public async Task SubmitAsync_ConnectionDroppedAfterTheImagesWereMade_FailsAsOutcomeUnknownWithoutASecondCall(bool refund, long expectedBalance)
    {
        Server.DropNextAfterGenerating();
        var (job, balance) = await RunAsync(Request("dave"), o =>
        {
            TestSupport.Configure(o);
            o.RefundUnknownOutcome = refund;
        });

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(MediaGenErrorCodes.OutcomeUnknown, job.Error?.Code);
        Assert.Equal(1, job.Attempt);
        Assert.Equal((1, 1), (Server.Calls, Server.ImagesGenerated));
        Assert.Equal(expectedBalance, balance);
    }

    [Fact]
    public async Task SubmitAsync_IdempotentGeneratorAndADroppedConnection_CallsAgainAndSucceeds()
    {
        Server.DropNextAfterGenerating();
        var (job, balance) = await RunAsync(Request("erin"), o =>
        {
            TestSupport.Configure(o);
            o.IsIdempotent = true;
        });

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(2, Server.Calls);
        Assert.Equal(100 - 4, balance);
    }

    [Fact]
    public void AddImageGenerator_FromConfiguration_ServesTheModels()
    {
        var section = Section(new Dictionary<string, string?>
        {
            ["Models:gpt-image-1:CostCredits"] = "4",
            ["Models:gpt-image-1:MaxOutputs"] = "4",
            ["Models:gpt-image-1:Sizes:0"] = "1024x1024",
            ["Models:gpt-image-1:Sizes:1"] = "1536x1024",
            ["Models:gpt-image-1:OutputFormats:0"] = "Png",
            ["Models:gpt-image-1:OutputFormats:1"] = "Webp",
            ["Models:gpt-image-1-hd:ProviderModel"] = "gpt-image-1",
            ["Models:gpt-image-1-hd:CostCredits"] = "16",
            ["RefundUnknownOutcome"] = "false",
        });
        using var provider = new ServiceCollection().AddMediaGeneration()
            .AddImageGenerator(TestSupport.Name, _ => TestSupport.OpenAIGenerator(Server.Endpoint), section).Services.BuildServiceProvider();

        var generator = Assert.Single(provider.GetServices<IMediaGenerator>());

        Assert.Equal(TestSupport.Name, generator.Name);
        var model = generator.Models.Single(m => m.Id == "gpt-image-1");
        Assert.Equal((4L, 4), (model.CostCredits, model.Settings.MaxOutputs));
        Assert.Equal(["1:1", "3:2"], model.Settings.AspectRatios);
        Assert.Equal([OutputFormat.Png, OutputFormat.Webp], model.Settings.OutputFormats);
        Assert.False(model.Settings.SupportsDimensions);
        Assert.Equal(16, generator.Models.Single(m => m.Id == "gpt-image-1-hd").CostCredits);
        Assert.False(provider.GetRequiredService<IOptionsMonitor<ExtensionsAIGeneratorOptions>>().Get(TestSupport.Name).RefundUnknownOutcome);
    }

    [Fact]
    public async Task AddImageGenerator_UnknownConfigurationKey_FailsAtStartup()
    {
        var section = Section(new Dictionary<string, string?> { ["Models:m:CostCredits"] = "1", ["RefundUnknownOutcomes"] = "false" });
        using var host = Microsoft.Extensions.Hosting.Host.CreateDefaultBuilder()
            .ConfigureServices(s => s.AddMediaGeneration().AddImageGenerator(TestSupport.Name, _ => TestSupport.OpenAIGenerator(Server.Endpoint), section)).Build();

        var error = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains("RefundUnknownOutcomes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddImageGenerator_ModelWithoutCost_FailsAtStartupNamingIt()
    {
        using var host = Microsoft.Extensions.Hosting.Host.CreateDefaultBuilder().ConfigureServices(s => s.AddMediaGeneration()
            .AddImageGenerator(TestSupport.Name, _ => TestSupport.OpenAIGenerator(Server.Endpoint), o =>
            {
                o.Models["cheap"] = new ExtensionsAIModelOptions { Sizes = ["1024x1024", "512x512"], CostCredits = 1 };
                o.Models["free"] = new ExtensionsAIModelOptions();
            })).Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Models:free:CostCredits must be set", error.Message, StringComparison.Ordinal);
        Assert.Contains("both 1:1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddImageGenerator_NoModels_FailsAtStartup()
    {
        using var host = Microsoft.Extensions.Hosting.Host.CreateDefaultBuilder().ConfigureServices(s => s.AddMediaGeneration()
            .AddImageGenerator(TestSupport.Name, _ => TestSupport.OpenAIGenerator(Server.Endpoint), _ => { })).Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains($"Image generator '{TestSupport.Name}' serves no model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddImageGenerator_SameNameTwice_Throws()
    {
        var builder = new ServiceCollection().AddMediaGeneration().AddImageGenerator(TestSupport.Name, _ => TestSupport.OpenAIGenerator(Server.Endpoint), o => TestSupport.Configure(o));

        var error = Assert.Throws<InvalidOperationException>(() => builder.AddImageGenerator(TestSupport.Name, _ => TestSupport.OpenAIGenerator(Server.Endpoint), o => TestSupport.Configure(o)));

        Assert.Contains($"'{TestSupport.Name}' was added already", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddImageGenerator_TwoNames_ServeTheirOwnModels()
    {
        using var provider = new ServiceCollection().AddMediaGeneration()
            .AddImageGenerator("a", _ => TestSupport.OpenAIGenerator(Server.Endpoint), o => o.Models["model-a"] = new ExtensionsAIModelOptions { CostCredits = 1 })
            .AddImageGenerator("b", _ => TestSupport.OpenAIGenerator(Server.Endpoint), o => o.Models["model-b"] = new ExtensionsAIModelOptions { CostCredits = 2 })
            .Services.BuildServiceProvider();

        var models = provider.GetRequiredService<IMediaGenerationClient>().GetModels();

        Assert.Equal(1, models.Single(m => m.Id == "model-a").CostCredits);
        Assert.Equal(2, models.Single(m => m.Id == "model-b").CostCredits);
    }

    [Fact]
    public async Task AddImageGenerator_Ownership_DisposesWhatTheFactoryMadeNotWhatTheCallerOrContainerOwns()
    {
        var made = new DisposalProbe();
        var callers = new DisposalProbe();
        var keyed = new DisposalProbe();
        var services = new ServiceCollection();
        services.AddKeyedSingleton<IImageGenerator>("images", (_, _) => keyed); // made by the container, so the container disposes it
        services.AddMediaGeneration()
            .AddImageGenerator("made", _ => made, o => o.Models["m1"] = new ExtensionsAIModelOptions { CostCredits = 1 })
            .AddImageGenerator("callers", callers, o => o.Models["m2"] = new ExtensionsAIModelOptions { CostCredits = 1 })
            .AddKeyedImageGenerator("keyed", "images", o => o.Models["m3"] = new ExtensionsAIModelOptions { CostCredits = 1 });
        var provider = services.BuildServiceProvider();
        Assert.Equal(3, provider.GetServices<IMediaGenerator>().Count());

        await provider.DisposeAsync();

        Assert.True(made.Disposed);
        Assert.False(callers.Disposed);
        Assert.True(keyed.Disposed);
        Assert.Equal(1, keyed.DisposeCount);
    }

    /// <summary>Runs one job through a worker on the in-memory defaults; returns it finished, with its owner's balance.</summary>
    private async Task<(GenerationJob Job, long Balance)> RunAsync(GenerationRequest request, Action<ExtensionsAIGeneratorOptions>? configure = null)
    {
        using var host = Host(configure);
        await host.StartAsync();
        var submitted = await host.Services.GetRequiredService<IMediaGenerationClient>().SubmitAsync(request);
        var job = await host.Services.WaitForTerminalAsync(request.OwnerId, submitted.Job.Id);
        await host.StopAsync();
        return (job, await host.Services.GetRequiredService<ICreditLedger>().GetBalanceAsync(request.OwnerId));
    }

    private IHost Host(Action<ExtensionsAIGeneratorOptions>? configure = null) =>
        Microsoft.Extensions.Hosting.Host.CreateDefaultBuilder().ConfigureServices(s => s
            .AddMediaGeneration()
            .UseFileSystemStorage(o => o.RootPath = Root.Path)
            .ConfigureCredits(o => o.InitialBalance = 100)
            .AddImageGenerator(TestSupport.Name, _ => TestSupport.OpenAIGenerator(Server.Endpoint), configure ?? (o => TestSupport.Configure(o)))
            .AddWorker(o => o.Retry.Delay = TimeSpan.FromMilliseconds(10))).Build();

    private static GenerationRequest Request(string owner, int? outputCount = null) => new()
    {
        Prompt = TestSupport.Prompt,
        Model = TestSupport.Model,
        OwnerId = owner,
        Settings = new GenerationSettings { OutputCount = outputCount, AspectRatio = "1:1" },
    };

    private static IConfigurationSection Section(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => "MediaGen:Generators:OpenAI:" + v.Key, v => v.Value)).Build().GetSection("MediaGen:Generators:OpenAI");

    private sealed class DisposalProbe : IImageGenerator
    {
        public int DisposeCount { get; private set; }

        public bool Disposed => DisposeCount > 0;

        public Task<ImageGenerationResponse> GenerateAsync(ImageGenerationRequest request, ImageGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(new ImageGenerationResponse());

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose() => DisposeCount++;
    }
}
