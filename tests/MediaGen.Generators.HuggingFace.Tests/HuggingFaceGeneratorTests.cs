using System.Globalization;
using Microsoft.Extensions.Logging.Testing;

namespace MediaGen.Generators.HuggingFace.Tests;

public sealed class HuggingFaceGeneratorTests : FakeServerTests<FakeHuggingFaceServer>
{
    protected override Task<FakeHuggingFaceServer> StartServerAsync() => FakeHuggingFaceServer.StartAsync();

    [Fact]
    public async Task GenerateAsync_PromptAndParameters_ReturnsTheImageBytes()
    {
        var generator = TestSupport.Generator(Server, Http);
        var parameters = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>("{\"guidance\":3.5,\"steps\":28}");
        var checkpoint = new RecordingCheckpointSink();

        var result = await generator.GenerateAsync(TestSupport.Context(
            generator, TestSupport.Job(new GenerationSettings { Width = 1024, Height = 768, Seed = 42 }, parameters), checkpoint));

        var output = Assert.Single(result.Outputs);
        Assert.Equal("image/jpeg", output.ContentType);
        Assert.Equal(FakeHuggingFaceServer.ImageBytes(Server.ImageSize, png: false), await GeneratedOutputs.ReadAllAsync(output));
        Assert.Equal("/hf-inference/models/black-forest-labs/FLUX.1-dev", Assert.Single(Server.Paths));
        var body = Assert.Single(Server.Bodies);
        Assert.Equal(TestSupport.Prompt, body["inputs"]!.GetValue<string>());
        var sent = body["parameters"]!;
        Assert.Equal(1024, sent["width"]!.GetValue<int>());
        Assert.Equal(768, sent["height"]!.GetValue<int>());
        Assert.Equal(42, sent["seed"]!.GetValue<long>());
        Assert.Equal(3.5, sent["guidance_scale"]!.GetValue<double>());
        Assert.Equal(28, sent["num_inference_steps"]!.GetValue<int>());
        Assert.Empty(checkpoint.Saved);
    }

    [Fact]
    public async Task GenerateAsync_PngRequested_AsksForPngAndKeepsTheResponsesContentType()
    {
        var generator = TestSupport.Generator(Server, Http);

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(new GenerationSettings { OutputFormat = OutputFormat.Png })));

        Assert.Equal("image/png", Assert.Single(Server.AcceptHeaders));
        Assert.Equal("image/png", result.Outputs[0].ContentType);
    }

    [Fact]
    public async Task GenerateAsync_ResponseWithoutContentType_InfersItFromTheBytes()
    {
        Server.OmitContentType = true;
        var generator = TestSupport.Generator(Server, Http);

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(new GenerationSettings { OutputFormat = OutputFormat.Png })));

        Assert.Equal("image/png", result.Outputs[0].ContentType);
    }

    [Fact]
    public async Task GenerateAsync_ModelLoadingLongerThanTheWaitLimit_ThrowsTransientWithTheEstimatedTime()
    {
        Server.InjectLoading(19.2);
        var generator = TestSupport.Generator(Server, Http, o => o.MaxRetryWait = TimeSpan.FromSeconds(5));

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());

        Assert.True(error.IsTransient);
        Assert.False(error.IsRateLimited);
        Assert.Equal(TimeSpan.FromSeconds(20), error.RetryAfter);
        Assert.Contains("currently loading", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, Server.Calls);
    }

    [Fact]
    public async Task GenerateAsync_ModelLoadingShortly_WaitsTheEstimateOnTheClockAndSucceeds()
    {
        var time = new ObservedTimeProvider();
        Server.InjectLoading(3);
        var generator = TestSupport.Generator(Server, Http, timeProvider: time);

        var run = generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask();
        var elapsed = await time.AdvanceUntilDoneAsync(run, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(3), () => Assert.True(Server.Calls <= 1));
        var result = await run;

        Assert.True(elapsed >= TimeSpan.FromSeconds(3), $"The call was retried after {elapsed}.");
        Assert.Single(result.Outputs);
        Assert.Equal(2, Server.Calls);
    }

    [Fact]
    public async Task GenerateAsync_RateLimited_PausesTheProviderForEveryJobUntilRetryAfter()
    {
        var time = new ObservedTimeProvider();
        var generator = TestSupport.Generator(Server, Http, timeProvider: time);
        Server.Inject(429, "{\"error\":\"Rate limit reached. You reached free usage limit (reset hourly).\"}", retryAfter: "30");

        var elapsed = await ProviderPauseChecks.TwoJobsWaitOutThePauseAsync(
            time, generator.Gate, () => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask(), () => Server.Calls);

        Assert.True(elapsed >= TimeSpan.FromSeconds(30), $"The jobs went ahead after {elapsed}.");
        Assert.Equal(3, Server.Calls);
        Assert.Equal(2, Server.Served);
    }

    [Fact]
    public async Task GenerateAsync_RateLimitedBeyondTheRetries_ThrowsRateLimitedWithRetryAfterFromAnHttpDate()
    {
        var now = new DateTimeOffset(2026, 11, 23, 6, 0, 0, TimeSpan.Zero);
        var generator = TestSupport.Generator(Server, Http, o => o.MaxRequestRetries = 0, new FakeTimeProvider(now));
        Server.Inject(429, "{\"error\":\"Rate limit reached\"}", retryAfter: now.AddSeconds(90).ToString("r", CultureInfo.InvariantCulture));

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());

        Assert.True(error.IsRateLimited);
        Assert.Equal(MediaGenErrorCodes.ProviderRateLimited, error.ErrorCode);
        Assert.Equal(TimeSpan.FromSeconds(90), error.RetryAfter);
        Assert.Contains("Rate limit reached", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GenerateAsync_ServerErrorsThenSuccess_Retries()
    {
        Server.Inject(500, "{\"error\":\"Internal Server Error\"}");
        Server.Inject(502, "{\"error\":\"Bad Gateway\"}");
        var generator = TestSupport.Generator(Server, Http);

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job()));

        Assert.Single(result.Outputs);
        Assert.Equal(3, Server.Calls);
    }

    [Theory]
    [InlineData(401, "Invalid credentials in Authorization header", MediaGenErrorCodes.GeneratorPermanent)]
    [InlineData(403, "Access to model black-forest-labs/FLUX.1-dev is restricted", MediaGenErrorCodes.GeneratorPermanent)]
    [InlineData(404, "Model black-forest-labs/FLUX.1-dev does not exist", MediaGenErrorCodes.GeneratorPermanent)]
    [InlineData(422, "Input validation error: `width` must be a multiple of 16", MediaGenErrorCodes.ValidationFailed)]
    [InlineData(400, "Potential NSFW content was detected in one or more images", MediaGenErrorCodes.ContentFiltered)]
    public async Task GenerateAsync_ClientError_IsPermanentWithoutRetryAndKeepsTheProviderText(int status, string text, string code)
    {
        Server.Inject(status, JsonSerializer.Serialize(new { error = text }));
        var generator = TestSupport.Generator(Server, Http);

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());

        Assert.False(error.IsTransient);
        Assert.Equal(code, error.ErrorCode);
        Assert.Contains(text, error.Message, StringComparison.Ordinal);
        Assert.Equal(1, Server.Calls);
    }

    [Fact]
    public async Task GenerateAsync_SlowImageBody_CompletesOnlyWithTheWholeImage()
    {
        Server.BodyGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Server.ImageSize = 1024 * 1024;
        var generator = TestSupport.Generator(Server, Http);

        var run = generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask();
        await Server.FirstHalfSent.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(run.IsCompleted);
        Server.BodyGate.SetResult();
        var result = await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(FakeHuggingFaceServer.ImageBytes(Server.ImageSize, png: false), await GeneratedOutputs.ReadAllAsync(result.Outputs[0]));
    }

    [Fact]
    public async Task GenerateAsync_JobAbortedDuringTheCall_StopsWithoutRetrying()
    {
        Server.BodyGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var generator = TestSupport.Generator(Server, Http);
        using var aborted = new CancellationTokenSource();

        var run = generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(), jobAborted: aborted.Token)).AsTask();
        await Server.FirstHalfSent.Task.WaitAsync(TimeSpan.FromSeconds(30));
        aborted.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(1, Server.Calls);
    }

    [Fact]
    public async Task GenerateAsync_LogsAboveTrace_NeverContainTheTokenOrThePrompt()
    {
        var collector = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(collector)));
        Server.Inject(503, JsonSerializer.Serialize(new { error = $"loading for {TestSupport.Prompt}", estimated_time = 0 }));
        Server.Inject(422, JsonSerializer.Serialize(new { error = $"bad input {TestSupport.Prompt}" }));
        var generator = TestSupport.Generator(Server, Http, logger: loggerFactory.CreateLogger<HuggingFaceGenerator>());

        await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());
        await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job()));

        var records = collector.GetSnapshot();
        Assert.Contains(records, r => r.Level == LogLevel.Trace && r.Message.Contains(TestSupport.Prompt, StringComparison.Ordinal));
        Assert.Contains(records, r => r.Level >= LogLevel.Information);
        foreach (var record in records.Where(r => r.Level > LogLevel.Trace))
        {
            Assert.DoesNotContain(TestSupport.Prompt, record.Message, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(records, r => r.Message.Contains(FakeHuggingFaceServer.Token, StringComparison.Ordinal));
    }

    public static TheoryData<string, string> Rejected => new()
    {
        { "{\"AspectRatio\":\"16:9\"}", "settings.aspectRatio" },
        { "{\"OutputCount\":2}", "settings.outputCount" },
        { "{\"OutputFormat\":2}", "settings.outputFormat" },
        { "{\"Width\":1000,\"Height\":1024}", "settings.width" },
        { "{\"Width\":4096,\"Height\":1024}", "settings.width" },
    };

    [Theory]
    [MemberData(nameof(Rejected))]
    public void Validate_SettingTheModelDoesNotAccept_IsAValidationError(string settings, string field)
    {
        var model = Catalog().Single(m => m.Id == TestSupport.Model);

        var errors = model.Validate(TestSupport.Job(JsonSerializer.Deserialize<GenerationSettings>(settings)).Request);

        Assert.Contains(field, errors.Keys);
    }

    [Fact]
    public void Validate_ParametersAndNegativePrompt_FollowTheModelsRules()
    {
        var model = Catalog().Single(m => m.Id == TestSupport.Model);
        var request = TestSupport.Job(new GenerationSettings { Width = 1024, Height = 768, Seed = 1, OutputFormat = OutputFormat.Png }).Request;

        Assert.Empty(model.Validate(request with { Parameters = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>("{\"guidance\":3.5,\"steps\":50}") }));
        Assert.Contains("parameters.steps", model.Validate(request with { Parameters = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>("{\"steps\":51}") }).Keys);
        Assert.Contains("parameters.scheduler", model.Validate(request with { Parameters = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>("{\"scheduler\":\"x\"}") }).Keys);
        Assert.Contains("negativePrompt", model.Validate(request with { NegativePrompt = "blur" }).Keys);
    }

    private static IReadOnlyList<ModelDescriptor> Catalog() =>
        HuggingFaceModelCatalog.Build(new HuggingFaceGeneratorOptions { ApiToken = "t" }, out _).Values.Select(m => m.Descriptor).ToList();
}
