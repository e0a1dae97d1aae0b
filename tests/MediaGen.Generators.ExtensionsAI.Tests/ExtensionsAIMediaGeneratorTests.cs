using System.Globalization;
using Microsoft.Extensions.Time.Testing;

namespace MediaGen.Generators.ExtensionsAI.Tests;

/// <summary>The generator over the official OpenAI client, talking to an OpenAI-compatible images endpoint on loopback.</summary>
public sealed class ExtensionsAIMediaGeneratorTests : FakeServerTests<FakeOpenAIImagesServer>
{
    protected override Task<FakeOpenAIImagesServer> StartServerAsync() => FakeOpenAIImagesServer.StartAsync();

    [Fact]
    public async Task GenerateAsync_OneImage_ReturnsItAndSendsTheMappedRequest()
    {
        var generator = TestSupport.Generator(TestSupport.OpenAIGenerator(Server.Endpoint), http: Http);
        var checkpoint = new RecordingCheckpointSink();

        var result = await generator.GenerateAsync(TestSupport.Context(
            generator, TestSupport.Job(new GenerationSettings { AspectRatio = "3:2", OutputFormat = OutputFormat.Jpeg }), checkpoint));

        var output = Assert.Single(result.Outputs);
        Assert.Equal("image/jpeg", output.ContentType);
        Assert.Equal(FakeOpenAIImagesServer.ImageBytes(1, 0, Server.ImageSize), await GeneratedOutputs.ReadAllAsync(output));
        var body = Assert.Single(Server.Bodies);
        Assert.Equal(TestSupport.Prompt, body["prompt"]!.GetValue<string>());
        Assert.Equal(TestSupport.Model, body["model"]!.GetValue<string>());
        Assert.Equal(1, body["n"]!.GetValue<int>());
        Assert.Equal("1536x1024", body["size"]!.GetValue<string>());
        Assert.Equal("jpeg", body["output_format"]!.GetValue<string>());

        // The call was marked in flight before it was made.
        Assert.Equal("calling", TestSupport.State(Assert.Single(checkpoint.Saved)));
    }

    [Fact]
    public async Task GenerateAsync_FourImages_ReturnsTheFourInOrderFromOneCall()
    {
        var generator = TestSupport.Generator(TestSupport.OpenAIGenerator(Server.Endpoint), http: Http);

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(new GenerationSettings { OutputCount = 4 })));

        Assert.Equal(4, result.Outputs.Count);
        Assert.Empty(result.FailedOutputs);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(FakeOpenAIImagesServer.ImageBytes(1, i, Server.ImageSize), await GeneratedOutputs.ReadAllAsync(result.Outputs[i]));
        }

        Assert.Equal(4, Assert.Single(Server.Bodies)["n"]!.GetValue<int>());
        Assert.Equal((1, 4), (Server.Calls, Server.ImagesGenerated));
    }

    [Fact]
    public async Task GenerateAsync_FewerImagesThanAsked_NamesTheMissingOnesAsFailed()
    {
        Server.ImageLimit = 2;
        var generator = TestSupport.Generator(TestSupport.OpenAIGenerator(Server.Endpoint), http: Http);

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(new GenerationSettings { OutputCount = 3 })));

        Assert.Equal(2, result.Outputs.Count);
        var failed = Assert.Single(result.FailedOutputs);
        Assert.Equal((2, MediaGenErrorCodes.OutputMissing), (failed.Index, failed.Code));
    }

    [Fact]
    public async Task GenerateAsync_ImagesAsUrls_StreamsThemAndSavesTheUrlsSoNoRetryCallsAgain()
    {
        var generator = TestSupport.Generator(
            TestSupport.OpenAIGenerator(Server.Endpoint),
            o =>
            {
                o.Models[TestSupport.Model].ResponseFormat = ImageGenerationResponseFormat.Uri;
                o.AllowedNonPublicOutputHosts.Add("127.0.0.1"); // the fake's image URLs are on loopback
            },
            http: Http);
        var checkpoint = new RecordingCheckpointSink();

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(new GenerationSettings { OutputCount = 2 }), checkpoint));

        Assert.Equal("url", Assert.Single(Server.Bodies)["response_format"]!.GetValue<string>());
        Assert.Equal(0, Server.Downloads);
        Assert.Equal(FakeOpenAIImagesServer.ImageBytes(1, 1, Server.ImageSize), await GeneratedOutputs.ReadAllAsync(result.Outputs[1]));
        Assert.Equal(1, Server.Downloads);
        Assert.Equal(["calling", "generated"], checkpoint.Saved.Select(TestSupport.State));

        // A later attempt (the worker crashed while storing) downloads the same images instead of paying again.
        var retry = TestSupport.Job(new GenerationSettings { OutputCount = 2 }, checkpoint.Saved.Last(), attempt: 2);
        var resumed = await generator.GenerateAsync(TestSupport.Context(generator, retry));

        Assert.Equal(1, Server.Calls);
        Assert.Equal(FakeOpenAIImagesServer.ImageBytes(1, 0, Server.ImageSize), await GeneratedOutputs.ReadAllAsync(resumed.Outputs[0]));
        Assert.Equal(FakeOpenAIImagesServer.ImageBytes(1, 1, Server.ImageSize), await GeneratedOutputs.ReadAllAsync(resumed.Outputs[1]));
    }

    [Fact]
    public async Task GenerateAsync_RateLimited_ThrowsRateLimitedAndPausesTheProviderUntilRetryAfter()
    {
        var time = new ObservedTimeProvider();
        var gate = new ProviderRateGate(time);
        var generator = TestSupport.Generator(TestSupport.OpenAIGenerator(Server.Endpoint), timeProvider: time, http: Http, gate: gate);
        Server.Inject(429, "Rate limit reached for gpt-image-1 on images per minute: Limit 5.", "rate_limit_exceeded", retryAfter: "20", type: "requests");
        var checkpoint = new RecordingCheckpointSink();

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(), checkpoint)).AsTask());

        Assert.True(error.IsRateLimited);
        Assert.True(error.IsTransient);
        Assert.Equal(MediaGenErrorCodes.ProviderRateLimited, error.ErrorCode);
        Assert.Equal(TimeSpan.FromSeconds(20), error.RetryAfter);
        Assert.Contains("Rate limit reached", error.Message, StringComparison.Ordinal);
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(20), await gate.GetPausedUntilAsync(TestSupport.Name));
        Assert.Equal("nothing_generated", TestSupport.State(checkpoint.Saved.Last()));

        // The next job's call waits out the pause on the clock, then goes ahead.
        var next = generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask();
        var elapsed = await time.AdvanceUntilDoneAsync(next, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(20), () => Assert.Equal(1, Server.Calls));

        Assert.True(elapsed >= TimeSpan.FromSeconds(20), $"The call went ahead after {elapsed}.");
        Assert.Single((await next).Outputs);
        Assert.Equal(2, Server.Calls);
    }

    [Fact]
    public async Task GenerateAsync_RateLimitedWithAnHttpDate_ReadsTheWaitOnTheClock()
    {
        var now = new DateTimeOffset(2026, 11, 29, 6, 0, 0, TimeSpan.Zero);
        var generator = TestSupport.Generator(TestSupport.OpenAIGenerator(Server.Endpoint), timeProvider: new FakeTimeProvider(now), http: Http);
        Server.Inject(429, "Too many requests", "rate_limit_exceeded", retryAfter: now.AddSeconds(90).ToString("r", CultureInfo.InvariantCulture));

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());

        Assert.Equal(TimeSpan.FromSeconds(90), error.RetryAfter);
    }

    [Fact]
    public async Task GenerateAsync_ContentPolicy_FailsAsContentFilteredWithTheProvidersText()
    {
        Server.Inject(400, "Your request was rejected as a result of our safety system.", "moderation_blocked");
        var generator = TestSupport.Generator(TestSupport.OpenAIGenerator(Server.Endpoint), http: Http);
        var checkpoint = new RecordingCheckpointSink();

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(), checkpoint)).AsTask());

        Assert.False(error.IsTransient);
        Assert.True(error.IsRefundable);
        Assert.Equal(MediaGenErrorCodes.ContentFiltered, error.ErrorCode);
        Assert.Contains("rejected as a result of our safety system", error.Message, StringComparison.Ordinal);
        Assert.Equal("nothing_generated", TestSupport.State(checkpoint.Saved.Last()));
        Assert.Equal(0, Server.ImagesGenerated);
    }

    [Theory]
    [InlineData(400, "Invalid size '999x999'.", "invalid_value", MediaGenErrorCodes.ValidationFailed)]
    [InlineData(403, "Your organization must be verified to use the model `gpt-image-1`.", null, MediaGenErrorCodes.GeneratorPermanent)]
    [InlineData(404, "The model `gpt-image-9` does not exist.", "model_not_found", MediaGenErrorCodes.GeneratorPermanent)]
    public async Task GenerateAsync_ClientError_FailsAtOnceWithTheProvidersText(int status, string message, string? code, string errorCode)
    {
        Server.Inject(status, message, code);
        var generator = TestSupport.Generator(TestSupport.OpenAIGenerator(Server.Endpoint), http: Http);

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());

        Assert.False(error.IsTransient);
        Assert.Equal(errorCode, error.ErrorCode);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal(1, Server.Calls);
    }

    [Fact]
    public async Task GenerateAsync_WrongApiKey_FailsAtOnceSayingToCheckTheKey()
    {
        var generator = TestSupport.Generator(TestSupport.OpenAIGenerator(Server.Endpoint, apiKey: "sk-wrong"), http: Http);

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());

        Assert.Equal(MediaGenErrorCodes.GeneratorPermanent, error.ErrorCode);
        Assert.Contains("Check the API key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GenerateAsync_ServerError_IsTransientAndTheNextAttemptCallsAgain()
    {
        Server.Inject(500, "The server had an error while processing your request. Sorry about that!", type: "server_error");
        var generator = TestSupport.Generator(TestSupport.OpenAIGenerator(Server.Endpoint), http: Http);
        var checkpoint = new RecordingCheckpointSink();

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(), checkpoint)).AsTask());
        Assert.True(error.IsTransient);
        Assert.Equal(MediaGenErrorCodes.GeneratorTransient, error.ErrorCode);

        var retry = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(checkpoint: checkpoint.Saved.Last(), attempt: 2)));

        Assert.Single(retry.Outputs);
        Assert.Equal((2, 1), (Server.Calls, Server.ImagesGenerated));
    }

    [Fact]
    public async Task GenerateAsync_ConnectionRefused_IsTransientSinceNothingWasSent()
    {
        var generator = TestSupport.Generator(TestSupport.OpenAIGenerator(new Uri($"http://127.0.0.1:{FreePort.Next()}/v1")), http: Http);
        var checkpoint = new RecordingCheckpointSink();

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(), checkpoint)).AsTask());

        Assert.True(error.IsTransient);
        Assert.Equal("nothing_generated", TestSupport.State(checkpoint.Saved.Last()));
    }

    [Theory]
    [InlineData(504)]
    [InlineData(502)]
    public async Task GenerateAsync_GatewayLostTheCall_FailsAsOutcomeUnknown(int status)
    {
        Server.Inject(status, "upstream request timeout", type: "server_error");
        var generator = TestSupport.Generator(TestSupport.OpenAIGenerator(Server.Endpoint), http: Http);

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());

        Assert.Equal(MediaGenErrorCodes.OutcomeUnknown, error.ErrorCode);
        Assert.False(error.IsTransient);
    }

    [Fact]
    public async Task GenerateAsync_ConnectionDroppedAfterTheImagesWereMade_FailsAsOutcomeUnknownRefundedByDefault()
    {
        Server.DropNextAfterGenerating();
        var generator = TestSupport.Generator(TestSupport.OpenAIGenerator(Server.Endpoint), http: Http);
        var checkpoint = new RecordingCheckpointSink();

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(), checkpoint)).AsTask());

        Assert.Equal(MediaGenErrorCodes.OutcomeUnknown, error.ErrorCode);
        Assert.False(error.IsTransient);
        Assert.True(error.IsRefundable);
        Assert.Contains("not called again", error.Message, StringComparison.Ordinal);
        Assert.Equal("calling", TestSupport.State(checkpoint.Saved.Last()));
        Assert.Equal((1, 1), (Server.Calls, Server.ImagesGenerated));
    }

    [Fact]
    public async Task GenerateAsync_RefundUnknownOutcomeOff_TheOutcomeUnknownFailureKeepsTheCredits()
    {
        Server.DropNextAfterGenerating();
        var generator = TestSupport.Generator(TestSupport.OpenAIGenerator(Server.Endpoint), o => o.RefundUnknownOutcome = false, http: Http);

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());

        Assert.Equal(MediaGenErrorCodes.OutcomeUnknown, error.ErrorCode);
        Assert.False(error.IsRefundable);
    }

    [Fact]
    public async Task GenerateAsync_AttemptStoppedDuringTheCall_NextAttemptFailsAsOutcomeUnknownWithoutCalling()
    {
        Server.CallGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var generator = TestSupport.Generator(TestSupport.OpenAIGenerator(Server.Endpoint), http: Http);
        var checkpoint = new RecordingCheckpointSink();
        using var attempt = new CancellationTokenSource();

        // The attempt times out (or the worker shuts down) while the provider is generating.
        var first = generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(), checkpoint), attempt.Token).AsTask();
        await Server.CallReceived.Task.WaitAsync(Waits.Limit);
        await attempt.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        Server.CallGate.SetResult();

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(
            TestSupport.Context(generator, TestSupport.Job(checkpoint: checkpoint.Saved.Last(), attempt: 2))).AsTask());

        Assert.Equal(MediaGenErrorCodes.OutcomeUnknown, error.ErrorCode);
        Assert.Contains("attempt 1", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, Server.Calls);
    }

    [Fact]
    public async Task GenerateAsync_IdempotentGenerator_CallsAgainAfterAnUnknownOutcome()
    {
        Server.DropNextAfterGenerating();
        var generator = TestSupport.Generator(TestSupport.OpenAIGenerator(Server.Endpoint), o => o.IsIdempotent = true, http: Http);
        var checkpoint = new RecordingCheckpointSink();

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(), checkpoint)).AsTask());
        Assert.True(error.IsTransient);
        var retry = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(attempt: 2), checkpoint));

        Assert.Single(retry.Outputs);
        Assert.Equal(2, Server.Calls);
        Assert.Empty(checkpoint.Saved);
    }

    [Fact]
    public async Task GenerateAsync_ClassifyFailure_DecidesForFailuresTheRulesDoNotKnow()
    {
        var failing = new ThrowingImageGenerator(new InvalidOperationException("local model not loaded"));
        var generator = TestSupport.Generator(failing, o => o.ClassifyFailure = e => e is InvalidOperationException ? GenerationException.Transient(e.Message) : null);
        var checkpoint = new RecordingCheckpointSink();

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(), checkpoint)).AsTask());

        Assert.True(error.IsTransient);
        Assert.Equal("nothing_generated", TestSupport.State(checkpoint.Saved.Last()));
    }

    [Fact]
    public async Task GenerateAsync_UnknownFailureWithoutAClassifier_FailsAsOutcomeUnknown()
    {
        var generator = TestSupport.Generator(new ThrowingImageGenerator(new InvalidOperationException("boom")));

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());

        Assert.Equal(MediaGenErrorCodes.OutcomeUnknown, error.ErrorCode);
    }

    [Fact]
    public async Task GenerateAsync_SeedNegativePromptAndParameters_GoAsAdditionalProperties()
    {
        var recording = new ThrowingImageGenerator(null);
        var generator = TestSupport.Generator(recording, o =>
        {
            var model = o.Models[TestSupport.Model];
            model.SupportsSeed = true;
            model.SupportsNegativePrompt = true;
            model.SupportsDimensions = true;
            model.Parameters["quality"] = new GeneratorParameterOptions { Kind = ModelParameterKind.String, AllowedValues = ["low", "high"] };
            model.Parameters["steps"] = new GeneratorParameterOptions { Input = "num_steps", Kind = ModelParameterKind.Integer };
            o.ConfigureRequest = (context, options) => options.AdditionalProperties!["job"] = context.Job.Id;
        });
        var job = TestSupport.Job(new GenerationSettings { Width = 512, Height = 768, Seed = 42 }) with { };
        job = job with
        {
            Request = job.Request with
            {
                NegativePrompt = "text",
                Parameters = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, System.Text.Json.JsonElement>>("{\"quality\":\"high\",\"steps\":30}"),
            },
        };

        await generator.GenerateAsync(TestSupport.Context(generator, job));

        var options = recording.Options!;
        Assert.Equal(new System.Drawing.Size(512, 768), options.ImageSize);
        Assert.Equal(42L, options.AdditionalProperties!["seed"]);
        Assert.Equal("text", options.AdditionalProperties["negative_prompt"]);
        Assert.Equal("high", options.AdditionalProperties["quality"]);
        Assert.Equal(30L, options.AdditionalProperties["num_steps"]);
        Assert.Equal(job.Id, options.AdditionalProperties["job"]);
        Assert.Equal(TestSupport.Model, options.ModelId);
    }

    [Fact]
    public async Task GenerateAsync_LogsAboveTrace_NeverContainThePromptOrTheProvidersText()
    {
        var collector = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(collector)));
        Server.Inject(400, $"Your prompt '{TestSupport.Prompt}' was rejected by our safety system.", "content_policy_violation");
        var generator = TestSupport.Generator(TestSupport.OpenAIGenerator(Server.Endpoint), http: Http, logger: loggerFactory.CreateLogger<ExtensionsAIMediaGenerator>());

        await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());
        await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job()));

        var records = collector.GetSnapshot();
        Assert.Contains(records, r => r.Level == LogLevel.Trace && r.Message.Contains("rejected", StringComparison.Ordinal));
        Assert.All(records.Where(r => r.Level > LogLevel.Trace), r => Assert.DoesNotContain("paper lantern", r.Message, StringComparison.Ordinal));
        Assert.All(records, r => Assert.DoesNotContain(FakeOpenAIImagesServer.ApiKey, r.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task GenerateAsync_ImagesTheModelPointsAtInternalAddressesOrDeclaresAsHtml_FailThoseImagesWithoutFetching()
    {
        var png = new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3 };
        var image = new ReturningImageGenerator(
            new UriContent(new Uri("http://169.254.169.254/latest/meta-data/iam/security-credentials/worker-role"), "image/png"),
            new DataContent("<script>alert(document.domain)</script>"u8.ToArray(), "text/html"),
            new UriContent(new Uri($"http://127.0.0.1:{FreePort.Next()}/image.png"), "image/png"),
            new DataContent(png, "image/svg+xml"));
        var generator = TestSupport.Generator(image, http: Http);

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(new GenerationSettings { OutputCount = 4 })));

        // Only the PNG is kept, as what its bytes are; the others fail (refunded), and nothing was downloaded.
        var output = Assert.Single(result.Outputs);
        Assert.Equal("image/png", output.ContentType);
        Assert.Equal(png, await GeneratedOutputs.ReadAllAsync(output));
        Assert.Equal([0, 1, 2], result.FailedOutputs.Select(f => f.Index));
        Assert.All(result.FailedOutputs, f => Assert.Equal(MediaGenErrorCodes.GeneratorPermanent, f.Code));
        Assert.Contains("non-public address", result.FailedOutputs[0].Message, StringComparison.Ordinal);
        Assert.Contains("'text/html'", result.FailedOutputs[1].Message, StringComparison.Ordinal);
        Assert.Contains("non-public address", result.FailedOutputs[2].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GenerateAsync_ImageUrlDeclaringSvg_IsRefused()
    {
        var image = new ReturningImageGenerator(new UriContent(new Uri("https://images.example.com/a.svg"), "image/svg+xml"));
        var generator = TestSupport.Generator(image, http: Http);

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job()));

        Assert.Empty(result.Outputs);
        Assert.Contains("'image/svg+xml'", Assert.Single(result.FailedOutputs).Message, StringComparison.Ordinal);
    }

    /// <summary>An image generator that returns the contents it was given.</summary>
    private sealed class ReturningImageGenerator(params AIContent[] contents) : IImageGenerator
    {
        public Task<ImageGenerationResponse> GenerateAsync(ImageGenerationRequest request, ImageGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(new ImageGenerationResponse([.. contents]));

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    /// <summary>An image generator that records the options of its call, then fails with an exception or returns one image.</summary>
    private sealed class ThrowingImageGenerator(Exception? failure) : IImageGenerator
    {
        public ImageGenerationOptions? Options { get; private set; }

        public Task<ImageGenerationResponse> GenerateAsync(ImageGenerationRequest request, ImageGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            Options = options;
            return failure is not null
                ? Task.FromException<ImageGenerationResponse>(failure)
                : Task.FromResult(new ImageGenerationResponse([new DataContent(new byte[] { 1, 2, 3 }, "image/png")]));
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
