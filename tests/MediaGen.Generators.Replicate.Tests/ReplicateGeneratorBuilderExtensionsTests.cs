using Microsoft.Extensions.Configuration;

namespace MediaGen.Generators.Replicate.Tests;

public sealed class ReplicateGeneratorBuilderExtensionsTests : FakeServerTests<FakeReplicateServer>
{
    protected override Task<FakeReplicateServer> StartServerAsync() => FakeReplicateServer.StartAsync();

    [Fact]
    public void AddReplicateGenerator_FromConfiguration_ServesTheMergedCatalog()
    {
        var section = Section(new Dictionary<string, string?>
        {
            ["MediaGen:Generators:Replicate:BaseUrl"] = Server.BaseUrl.AbsoluteUri,
            ["MediaGen:Generators:Replicate:ApiToken"] = FakeReplicateServer.Token,
            ["MediaGen:Generators:Replicate:PreferWaitSeconds"] = "10",
            ["MediaGen:Generators:Replicate:Models:flux-dev:CostCredits"] = "20",
            ["MediaGen:Generators:Replicate:Models:flux-dev:Parameters:steps:Maximum"] = "30",
            ["MediaGen:Generators:Replicate:Models:acme-art:Model"] = "acme/art",
            ["MediaGen:Generators:Replicate:Models:acme-art:CostCredits"] = "2",
            ["MediaGen:Generators:Replicate:Models:acme-art:AspectRatios:0"] = "1:1",
            ["MediaGen:Generators:Replicate:Models:acme-art:OutputFormats:0"] = "Png",
            ["MediaGen:Generators:Replicate:Models:acme-art:Parameters:guidance:Input"] = "cfg_scale",
            ["MediaGen:Generators:Replicate:Models:acme-art:Parameters:guidance:Maximum"] = "5",
        });
        using var provider = new ServiceCollection().AddMediaGeneration().AddReplicateGenerator(section).Services.BuildServiceProvider();

        var generator = Assert.Single(provider.GetServices<IMediaGenerator>());

        Assert.Equal("replicate", generator.Name);
        Assert.Equal(6, generator.Models.Count);
        var dev = generator.Models.Single(m => m.Id == "flux-dev");
        Assert.Equal(20, dev.CostCredits);
        Assert.Equal(30, dev.Settings.Parameters["steps"].Maximum);
        Assert.Equal(11, dev.Settings.AspectRatios.Count);
        var art = generator.Models.Single(m => m.Id == "acme-art");
        Assert.Equal(["1:1"], art.Settings.AspectRatios);
        Assert.Equal(5, art.Settings.Parameters["guidance"].Maximum);
        Assert.Equal(10, provider.GetRequiredService<IOptions<ReplicateGeneratorOptions>>().Value.PreferWaitSeconds);
    }

    [Fact]
    public async Task AddReplicateGenerator_UnknownConfigurationKey_FailsAtStartup()
    {
        var section = Section(new Dictionary<string, string?>
        {
            ["MediaGen:Generators:Replicate:ApiToken"] = FakeReplicateServer.Token,
            ["MediaGen:Generators:Replicate:PollIntervall"] = "00:00:01",
        });
        using var host = Host.CreateDefaultBuilder().ConfigureServices(s => s.AddMediaGeneration().AddReplicateGenerator(section)).Build();

        var error = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains("PollIntervall", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddReplicateGenerator_WithoutToken_FailsAtStartupNamingTheSetting()
    {
        using var host = Host.CreateDefaultBuilder().ConfigureServices(s => s.AddMediaGeneration().AddReplicateGenerator(o => o.BaseUrl = Server.BaseUrl)).Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("MediaGen:Generators:Replicate:ApiToken", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddReplicateGenerator_InvalidConfiguredModel_FailsAtStartup()
    {
        using var host = Host.CreateDefaultBuilder().ConfigureServices(s => s.AddMediaGeneration().AddReplicateGenerator(o =>
        {
            o.ApiToken = FakeReplicateServer.Token;
            o.Models["half"] = new ReplicateModelOptions { CostCredits = 1 };
        })).Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Models:half:Model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddReplicateGenerator_CalledTwice_AddsOneGenerator()
    {
        var services = new ServiceCollection();
        services.AddMediaGeneration().AddReplicateGenerator(o => o.ApiToken = "a").AddReplicateGenerator(o => o.ApiToken = "b");
        using var provider = services.BuildServiceProvider();

        Assert.Single(provider.GetServices<IMediaGenerator>());
        Assert.Equal("b", provider.GetRequiredService<IOptions<ReplicateGeneratorOptions>>().Value.ApiToken);
    }

    [Fact]
    public async Task AddReplicateGenerator_CallerOwnedHttpClient_IsUsedAndNotDisposed()
    {
        using var handler = new CountingHandler();
        using var http = new HttpClient(handler);
        var services = new ServiceCollection();
        services.AddMediaGeneration().AddReplicateGenerator(http, o => Configure(o));
        var provider = services.BuildServiceProvider();
        var generator = provider.GetServices<IMediaGenerator>().Single();

        await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job()));
        await provider.DisposeAsync();

        Assert.True(handler.Calls >= 2);
        using var stillUsable = await http.GetAsync(new Uri(Server.BaseUrl, "v1/predictions/none"));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, stillUsable.StatusCode);
    }

    [Fact]
    public async Task SubmitAsync_WithWorkerOnInMemoryDefaults_JobSucceedsWithOutputsInStorageAndOnePrediction()
    {
        using var host = await StartWorkerHostAsync(worker: o => o.Concurrency = 2);
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var ledger = host.Services.GetRequiredService<ICreditLedger>();
        Server.PollsUntilDone = 3;

        var submitted = await client.SubmitAsync(new GenerationRequest
        {
            Prompt = TestSupport.Prompt,
            Model = "flux-schnell",
            OwnerId = "alice",
            Settings = new GenerationSettings { OutputCount = 2, AspectRatio = "16:9" },
        });
        var job = await host.Services.WaitForTerminalAsync("alice", submitted.Job.Id);
        await host.StopAsync();

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(1, Server.PredictionsCreated);
        var predictionId = Assert.IsType<string>(job.Checkpoint);
        Assert.Equal([$"{job.Id}/0.webp", $"{job.Id}/1.webp"], job.Outputs.Select(o => o.Key));
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(FakeReplicateServer.OutputBytes(predictionId, i, Server.OutputSize), await File.ReadAllBytesAsync(Path.Combine(Root.Path, job.Id, $"{i}.webp")));
        }

        // Two images at one credit each.
        Assert.Equal(98, await ledger.GetBalanceAsync("alice"));
    }

    [Fact]
    public async Task SubmitAsync_PredictionReturnsFewerImagesThanAsked_JobSucceedsWithThemAndRefundsTheMissingOnes()
    {
        using var host = await StartWorkerHostAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var ledger = host.Services.GetRequiredService<ICreditLedger>();
        Server.OutputLimit = 3;

        var submitted = await client.SubmitAsync(new GenerationRequest
        {
            Prompt = TestSupport.Prompt,
            Model = "flux-dev",
            OwnerId = "alice",
            Settings = new GenerationSettings { OutputCount = 4 },
        });
        Assert.Equal(32, submitted.Job.CreditsCharged);
        var job = await host.Services.WaitForTerminalAsync("alice", submitted.Job.Id);
        await host.StopAsync();

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(1, Server.PredictionsCreated);
        Assert.Equal([0, 1, 2], job.Outputs.Select(o => o.Index));
        Assert.Equal(3, Assert.Single(job.FailedOutputs).Index);
        Assert.Equal((32L, 8L), (job.CreditsCharged, job.CreditsRefunded));
        Assert.Equal(100 - 24, await ledger.GetBalanceAsync("alice"));
    }

    [Fact]
    public async Task SubmitAsync_PredictionReportsSteps_ProgressReachesTheJobsEvents()
    {
        Server.PollsUntilDone = 40;
        using var host = await StartWorkerHostAsync(worker: o => o.ProgressInterval = TimeSpan.Zero);
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var events = host.Services.GetRequiredService<IJobEventStream>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var submitted = await client.SubmitAsync(new GenerationRequest { Prompt = TestSupport.Prompt, Model = "flux-dev", OwnerId = "erin" });
        var seen = new List<JobEvent>();
        await foreach (var e in events.SubscribeAsync(submitted.Job.Id, timeout.Token))
        {
            seen.Add(e);
            if (e.IsTerminal)
            {
                break;
            }
        }

        await host.StopAsync();

        Assert.Equal(JobEventType.Succeeded, seen[^1].Type);
        Assert.Contains(seen, e => e.Type == JobEventType.Progress && e.Progress is > 0 and < 1 && e.Message?.StartsWith("step ", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task CancelAsync_ProcessingJob_CancelsThePredictionAndRefunds()
    {
        Server.PollsUntilDone = int.MaxValue;
        using var host = await StartWorkerHostAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();

        var submitted = await client.SubmitAsync(new GenerationRequest { Prompt = TestSupport.Prompt, Model = "flux-dev", OwnerId = "carol" });
        // The prediction is polled only once its id is saved as the job's checkpoint.
        await Server.WaitForRequestAsync((method, path) => method == "GET" && path.StartsWith("/v1/predictions/", StringComparison.Ordinal), "the prediction is polled");
        await client.CancelAsync("carol", submitted.Job.Id);
        var job = await host.Services.WaitForTerminalAsync("carol", submitted.Job.Id);
        await host.StopAsync();

        Assert.Equal(JobStatus.Canceled, job.Status);
        Assert.Equal(1, Server.CancelCalls);
        Assert.Equal("canceled", Server.Find(job.Checkpoint!)!.Status);
        Assert.Equal(100, await host.Services.GetRequiredService<ICreditLedger>().GetBalanceAsync("carol"));
    }

    [Fact]
    public async Task SubmitAsync_DeadlinePassesWhileThePredictionRuns_CancelsThePrediction()
    {
        Server.PollsUntilDone = int.MaxValue;
        using var host = await StartWorkerHostAsync(mediaGeneration: o => o.JobDeadline = TimeSpan.FromSeconds(3));
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();

        var submitted = await client.SubmitAsync(new GenerationRequest { Prompt = TestSupport.Prompt, Model = "flux-dev", OwnerId = "dave" });
        var job = await host.Services.WaitForTerminalAsync("dave", submitted.Job.Id);
        await host.StopAsync();

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(MediaGenErrorCodes.DeadlineExceeded, job.Error?.Code);
        Assert.Equal(1, Server.CancelCalls);
        Assert.Equal(1, Server.PredictionsCreated);
    }

    [Fact]
    public async Task SubmitAsync_SettingTheModelDoesNotAccept_IsRejectedAtSubmissionWithoutACreate()
    {
        using var host = Host.CreateDefaultBuilder().ConfigureServices(s => s
            .AddMediaGeneration()
            .UseFileSystemStorage(o => o.RootPath = Root.Path)
            .AddReplicateGenerator(o => Configure(o))
            .AddWorker()).Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();

        var error = await Assert.ThrowsAsync<RequestValidationException>(() => client.SubmitAsync(new GenerationRequest
        {
            Prompt = TestSupport.Prompt,
            Model = "flux-schnell",
            OwnerId = "alice",
            Settings = new GenerationSettings { Width = 1024, Height = 1024 },
        }).AsTask());
        await host.StopAsync();

        Assert.Contains("settings.width", error.Errors.Keys);
        Assert.Equal(0, Server.CreateCalls);
    }

    // A host with the in-memory defaults, file-system storage, 100 credits per owner, the Replicate generator on the fake
    // server, and a worker; started.
    private async Task<IHost> StartWorkerHostAsync(Action<MediaGenerationWorkerOptions>? worker = null, Action<MediaGenerationOptions>? mediaGeneration = null)
    {
        var host = Host.CreateDefaultBuilder().ConfigureServices(s => s
            .AddMediaGeneration(mediaGeneration)
            .UseFileSystemStorage(o => o.RootPath = Root.Path)
            .ConfigureCredits(o => o.InitialBalance = 100)
            .AddReplicateGenerator(o => Configure(o))
            .AddWorker(worker)).Build();
        await host.StartAsync();
        return host;
    }
    private void Configure(ReplicateGeneratorOptions options)
    {
        options.BaseUrl = Server.BaseUrl;
        options.ApiToken = FakeReplicateServer.Token;
        options.PollInitialInterval = TimeSpan.FromMilliseconds(1);
        options.PollMaxInterval = TimeSpan.FromMilliseconds(5);
    }

    private static IConfigurationSection Section(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection("MediaGen:Generators:Replicate");

    private sealed class CountingHandler() : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
