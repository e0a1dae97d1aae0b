namespace MediaGen.Generators.ExtensionsAI.Tests;

/// <summary>
/// MediaGen as an <see cref="IImageGenerator"/>, end to end: the facade submits, the worker on the in-memory backend runs
/// the job through the OpenAI-backed model, and the caller gets the stored images.
/// </summary>
public sealed class MediaGenImageGeneratorTests : FakeServerTests<FakeOpenAIImagesServer>
{
    protected override Task<FakeOpenAIImagesServer> StartServerAsync() => FakeOpenAIImagesServer.StartAsync();

    [Fact]
    public async Task GenerateAsync_ThroughTheWorker_ReturnsTheStoredImagesAsUris()
    {
        using var host = await StartHostAsync();
        var images = host.Services.GetRequiredService<IImageGenerator>();

        var response = await images.GenerateImagesAsync(TestSupport.Prompt, new ImageGenerationOptions
        {
            Count = 2,
            ImageSize = new System.Drawing.Size(1024, 1536),
            AdditionalProperties = new() { [MediaGenImageGenerator.OwnerIdProperty] = "alice" },
        });

        Assert.IsType<MediaGenImageGenerator>(images);
        var job = Assert.IsType<GenerationJob>(response.RawRepresentation);
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(2, response.Contents.Count);
        for (var i = 0; i < 2; i++)
        {
            var content = Assert.IsType<UriContent>(response.Contents[i]);
            Assert.Equal("image/png", content.MediaType);
            // The storage's read URL: the public base URL and the key, signed until it expires.
            Assert.StartsWith($"/media/{job.Id}/{i}.png?expires=", content.Uri.OriginalString, StringComparison.Ordinal);
            Assert.Equal(job.Id, content.AdditionalProperties![MediaGenImageGenerator.JobIdProperty]);
            Assert.Equal(FakeOpenAIImagesServer.ImageBytes(1, i, Server.ImageSize), await File.ReadAllBytesAsync(Path.Combine(Root.Path, job.Id, $"{i}.png")));
        }

        Assert.Equal("1024x1536", Assert.Single(Server.Bodies)["size"]!.GetValue<string>());
        Assert.Equal(100 - 8, await host.Services.GetRequiredService<ICreditLedger>().GetBalanceAsync("alice"));
    }

    [Fact]
    public async Task GenerateAsync_DataAskedFor_ReturnsTheBytesFromStorage()
    {
        using var host = await StartHostAsync(o => o.DefaultOwnerId = "bob");
        var images = host.Services.GetRequiredService<IImageGenerator>();

        var response = await images.GenerateImagesAsync(TestSupport.Prompt, new ImageGenerationOptions { ResponseFormat = ImageGenerationResponseFormat.Data, MediaType = "image/webp" });

        var content = Assert.IsType<DataContent>(Assert.Single(response.Contents));
        Assert.Equal("image/webp", content.MediaType);
        Assert.Equal(FakeOpenAIImagesServer.ImageBytes(1, 0, Server.ImageSize), content.Data.ToArray());
        Assert.Equal("webp", Assert.Single(Server.Bodies)["output_format"]!.GetValue<string>());
    }

    [Fact]
    public async Task GenerateAsync_ComposedWithMiddleware_LogsTheCallAroundMediaGen()
    {
        var collector = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(new FakeLoggerProvider(collector)));
        using var host = await StartHostAsync(o => o.DefaultOwnerId = "carol");
        using var images = host.Services.GetRequiredService<IImageGenerator>().AsBuilder().UseLogging(loggerFactory).Build(host.Services);

        var response = await images.GenerateImagesAsync(TestSupport.Prompt);

        Assert.Single(response.Contents);
        Assert.Contains(collector.GetSnapshot(), r => r.Message.Contains("GenerateAsync", StringComparison.Ordinal));
        Assert.IsType<MediaGenImageGenerator>(images.GetService<MediaGenImageGenerator>());
    }

    [Fact]
    public async Task GenerateAsync_JobFails_ThrowsWithTheJobsErrorCode()
    {
        Server.Inject(400, "Your request was rejected as a result of our safety system.", "moderation_blocked");
        using var host = await StartHostAsync(o => o.DefaultOwnerId = "dave");
        var images = host.Services.GetRequiredService<IImageGenerator>();

        var error = await Assert.ThrowsAsync<MediaGenerationJobException>(() => images.GenerateImagesAsync(TestSupport.Prompt, new ImageGenerationOptions { Count = 3 }));

        Assert.Equal(MediaGenErrorCodes.ContentFiltered, error.ErrorCode);
        Assert.Contains("safety system", error.Message, StringComparison.Ordinal);
        var job = await host.Services.GetRequiredService<IMediaGenerationClient>().GetAsync("dave", error.JobId);
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(100, await host.Services.GetRequiredService<ICreditLedger>().GetBalanceAsync("dave"));
    }

    [Fact]
    public async Task GenerateAsync_CallerCancels_CancelsTheJobAndRefunds()
    {
        Server.CallGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var host = await StartHostAsync(o => o.DefaultOwnerId = "erin");
        var images = host.Services.GetRequiredService<IImageGenerator>();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        using var caller = new CancellationTokenSource();

        var call = images.GenerateImagesAsync(TestSupport.Prompt, cancellationToken: caller.Token);
        await Server.CallReceived.Task.WaitAsync(Waits.Limit);
        await caller.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        var jobId = (await client.ListAsync(new JobQuery { OwnerId = "erin" })).Items.Single().Id;
        var job = await host.Services.WaitForTerminalAsync("erin", jobId);
        Assert.Equal(JobStatus.Canceled, job.Status);
        Assert.Equal(100, await host.Services.GetRequiredService<ICreditLedger>().GetBalanceAsync("erin"));
    }

    [Fact]
    public async Task GenerateAsync_NoOwnerAnywhere_IsRefusedBeforeAnythingIsCharged()
    {
        using var host = await StartHostAsync();
        var images = host.Services.GetRequiredService<IImageGenerator>();

        var error = await Assert.ThrowsAsync<RequestValidationException>(() => images.GenerateImagesAsync(TestSupport.Prompt));

        Assert.Contains("ownerId", error.Errors.Keys);
        Assert.Equal(0, Server.Calls);
    }

    [Fact]
    public async Task GenerateAsync_SettingTheModelRefuses_IsRefusedAtSubmission()
    {
        using var host = await StartHostAsync(o => o.DefaultOwnerId = "frank");
        var images = host.Services.GetRequiredService<IImageGenerator>();

        var error = await Assert.ThrowsAsync<RequestValidationException>(() => images.GenerateImagesAsync(
            TestSupport.Prompt, new ImageGenerationOptions { AdditionalProperties = new() { ["guidance"] = 3.5 } }));

        Assert.Contains("parameters.guidance", error.Errors.Keys);
        Assert.Equal(0, Server.Calls);
    }

    private async Task<IHost> StartHostAsync(Action<MediaGenImageGeneratorOptions>? configure = null)
    {
        var host = Microsoft.Extensions.Hosting.Host.CreateDefaultBuilder().ConfigureServices(s => s
            .AddMediaGeneration()
            .UseFileSystemStorage(o => o.RootPath = Root.Path)
            .ConfigureCredits(o => o.InitialBalance = 100)
            .AddImageGenerator(TestSupport.Name, _ => TestSupport.OpenAIGenerator(Server.Endpoint), o => TestSupport.Configure(o))
            .AddMediaGenerationImageGenerator(o =>
            {
                o.DefaultModel = TestSupport.Model;
                configure?.Invoke(o);
            })
            .AddWorker()).Build();
        await host.StartAsync();
        return host;
    }
}
