namespace MediaGen.Generators.HuggingFace.Tests;

/// <summary>
/// Hugging Face's inference router as it behaves today: a provider in the route, each provider's request shape, answers
/// as bytes or as JSON (<c>b64_json</c>, a data URI, an output URL), and rate limits signalled by the <c>RateLimit</c> header.
/// </summary>
public sealed class HuggingFaceRouterTests : FakeServerTests<FakeHuggingFaceServer>
{
    protected override Task<FakeHuggingFaceServer> StartServerAsync() => FakeHuggingFaceServer.StartAsync();

    [Fact]
    public async Task GenerateAsync_BuiltInModel_GoesToFalAiWithItsModelIdAndDecodesTheSyncModeDataUri()
    {
        var generator = TestSupport.Generator(Server, Http, o => o.Models.Clear());
        var parameters = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>("{\"guidance\":3.5,\"steps\":28}");

        var result = await generator.GenerateAsync(TestSupport.Context(
            generator, TestSupport.Job(new GenerationSettings { Width = 1024, Height = 768, Seed = 7, OutputFormat = OutputFormat.Png }, parameters)));

        Assert.Equal("/fal-ai/fal-ai/flux/dev", Assert.Single(Server.Paths));
        var body = Assert.Single(Server.Bodies);
        Assert.Equal(TestSupport.Prompt, body["prompt"]!.GetValue<string>());
        Assert.True(body["sync_mode"]!.GetValue<bool>());
        Assert.Equal(1024, body["image_size"]!["width"]!.GetValue<int>());
        Assert.Equal(768, body["image_size"]!["height"]!.GetValue<int>());
        Assert.Equal(3.5, body["guidance_scale"]!.GetValue<double>());
        Assert.Equal(28, body["num_inference_steps"]!.GetValue<int>());
        Assert.Equal(7, body["seed"]!.GetValue<long>());
        Assert.Equal("png", body["output_format"]!.GetValue<string>());
        var output = Assert.Single(result.Outputs);
        Assert.Equal("image/png", output.ContentType);
        Assert.Equal(FakeHuggingFaceServer.ImageBytes(Server.ImageSize, png: true), await GeneratedOutputs.ReadAllAsync(output));
    }

    [Fact]
    public async Task GenerateAsync_FalAiAnswersAFileUrl_DownloadsTheImage()
    {
        Server.FalDataUris = false;
        var generator = TestSupport.Generator(Server, Http, o => o.Models.Clear());

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job()));

        Assert.Equal(1, Server.FileDownloads);
        Assert.Equal("image/jpeg", result.Outputs[0].ContentType);
        Assert.Equal(FakeHuggingFaceServer.ImageBytes(Server.ImageSize, png: false), await GeneratedOutputs.ReadAllAsync(result.Outputs[0]));
    }

    [Fact]
    public async Task GenerateAsync_FalAiAnswersAUrlOnALinkLocalAddress_FailsPermanentlyWithoutFetching()
    {
        Server.FalImageUrl = _ => "http://169.254.169.254/latest/meta-data/iam/security-credentials/worker-role";
        var generator = TestSupport.Generator(Server, Http, o => o.Models.Clear());

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());

        Assert.False(error.IsTransient);
        Assert.True(error.IsRefundable);
        Assert.Contains("non-public address", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GenerateAsync_FalAiAnswersAUrlOnALoopbackName_IsRefusedUnlessAllowListed()
    {
        Server.FalImageUrl = file => file.Replace("127.0.0.1", "localhost", StringComparison.Ordinal);
        var refusing = TestSupport.Generator(Server, Http, o => o.Models.Clear());

        var error = await Assert.ThrowsAsync<GenerationException>(() => refusing.GenerateAsync(TestSupport.Context(refusing, TestSupport.Job())).AsTask());
        Assert.Contains("loopback host", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, Server.FileDownloads);

        var allowing = TestSupport.Generator(Server, Http, o =>
        {
            o.Models.Clear();
            o.AllowedNonPublicOutputHosts.Add("localhost");
        });
        var result = await allowing.GenerateAsync(TestSupport.Context(allowing, TestSupport.Job()));
        Assert.Equal(1, Server.FileDownloads);
        Assert.Equal("image/jpeg", result.Outputs[0].ContentType);
    }

    [Theory]
    [InlineData("text/html", "<script>alert(document.domain)</script>")]
    [InlineData("image/svg+xml", "<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>")]
    public async Task GenerateAsync_FalAiAnswersADataUriThatIsNoImage_FailsPermanentlyNotStoredAsItsType(string type, string content)
    {
        Server.FalImageUrl = _ => $"data:{type};base64,{Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(content))}";
        var generator = TestSupport.Generator(Server, Http, o => o.Models.Clear());

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());

        Assert.False(error.IsTransient);
        Assert.Contains($"'{type}'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("b64_json", 0)]
    [InlineData("output_url", 1)]
    public async Task GenerateAsync_HfInferenceAnswersJson_ReadsTheImageFromIt(string shape, int downloads)
    {
        Server.HfInferenceJson = shape;
        var generator = TestSupport.Generator(Server, Http);

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(new GenerationSettings { OutputFormat = OutputFormat.Png })));

        Assert.Equal(downloads, Server.FileDownloads);
        Assert.Equal("image/png", result.Outputs[0].ContentType);
        Assert.Equal(FakeHuggingFaceServer.ImageBytes(Server.ImageSize, png: true), await GeneratedOutputs.ReadAllAsync(result.Outputs[0]));
    }

    [Fact]
    public async Task GenerateAsync_ProviderOptionTogether_SendsAnOpenAIStyleImageGenerationAndDecodesBase64()
    {
        var generator = TestSupport.Generator(Server, Http, o =>
        {
            o.Provider = "together";
            o.Models.Clear();
            o.IncludeBuiltInModels = false;
            o.Models["schnell"] = new HuggingFaceModelOptions
            {
                Model = "black-forest-labs/FLUX.1-schnell",
                CostCredits = 1,
                Parameters = { ["steps"] = new GeneratorParameterOptions { Input = "num_inference_steps", Kind = ModelParameterKind.Integer, Maximum = 4 } },
            };
        });
        var job = TestSupport.Job(parameters: JsonSerializer.Deserialize<Dictionary<string, JsonElement>>("{\"steps\":4}"));
        job = job with { Request = job.Request with { Model = "schnell" } };

        var result = await generator.GenerateAsync(TestSupport.Context(generator, job));

        Assert.Equal("/together/v1/images/generations", Assert.Single(Server.Paths));
        var body = Assert.Single(Server.Bodies);
        Assert.Equal("black-forest-labs/FLUX.1-schnell", body["model"]!.GetValue<string>());
        Assert.Equal("base64", body["response_format"]!.GetValue<string>());
        Assert.Equal(4, body["steps"]!.GetValue<int>());
        Assert.Null(body["num_inference_steps"]);
        Assert.Equal(FakeHuggingFaceServer.ImageBytes(Server.ImageSize, png: false), await GeneratedOutputs.ReadAllAsync(Assert.Single(result.Outputs)));
    }

    [Fact]
    public async Task GenerateAsync_RateLimitedWithOnlyARateLimitHeader_PausesTheProviderUntilItsReset()
    {
        var now = new DateTimeOffset(2026, 11, 23, 6, 0, 0, TimeSpan.Zero);
        var generator = TestSupport.Generator(Server, Http, o => o.MaxRequestRetries = 0, new FakeTimeProvider(now));
        Server.Inject(429, "{\"error\":\"You have exceeded your monthly included credits\"}", rateLimit: "\"api\";r=0;t=45");

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());

        Assert.True(error.IsRateLimited);
        Assert.Equal(TimeSpan.FromSeconds(45), error.RetryAfter);
        Assert.Equal(now.AddSeconds(45), await generator.Gate.GetPausedUntilAsync("huggingface"));
    }

    [Fact]
    public async Task AddHuggingFaceGenerator_UnknownProvider_FailsAtStartup()
    {
        using var host = Host.CreateDefaultBuilder().ConfigureServices(s => s.AddMediaGeneration().AddHuggingFaceGenerator(o =>
        {
            TestSupport.Configure(o, Server);
            o.Models["hf-flux-1-dev"].Provider = "replicate-direct";
        })).Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("MediaGen:Generators:HuggingFace:Models:hf-flux-1-dev:Provider", error.Message, StringComparison.Ordinal);
    }
}
