using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using OpenAI;
using OpenAI.Images;

namespace MediaGen.Generators.ExtensionsAI.Tests;

internal static class TestSupport
{
    public const string Prompt = "a paper lantern floating over a night market, watercolour";

    public const string Model = "gpt-image-1";

    public const string Name = "openai";

    /// <summary>
    /// The official OpenAI client pointed at <paramref name="endpoint"/>, as Microsoft.Extensions.AI's image generator. Its
    /// own retries are off, as the package README advises: MediaGen retries what is safe to retry.
    /// </summary>
    public static IImageGenerator OpenAIGenerator(Uri endpoint, string apiKey = FakeOpenAIImagesServer.ApiKey) =>
        new ImageClient(Model, new ApiKeyCredential(apiKey), new OpenAIClientOptions
        {
            Endpoint = endpoint,
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromMinutes(5),
        }).AsIImageGenerator();

    /// <summary>A gpt-image-1-style model: three sizes, up to four images, three formats, 4 credits an image.</summary>
    public static void Configure(ExtensionsAIGeneratorOptions options, long cost = 4)
    {
        options.Models[Model] = new ExtensionsAIModelOptions
        {
            ProviderModel = Model,
            CostCredits = cost,
            MaxOutputs = 4,
            Sizes = ["1024x1024", "1536x1024", "1024x1536"],
            OutputFormats = [OutputFormat.Png, OutputFormat.Jpeg, OutputFormat.Webp],
        };
    }

    public static ExtensionsAIMediaGenerator Generator(
        IImageGenerator imageGenerator,
        Action<ExtensionsAIGeneratorOptions>? configure = null,
        TimeProvider? timeProvider = null,
        HttpClient? http = null,
        ILogger<ExtensionsAIMediaGenerator>? logger = null,
        ProviderRateGate? gate = null)
    {
        var options = new ExtensionsAIGeneratorOptions();
        Configure(options);
        configure?.Invoke(options);
        var time = timeProvider ?? TimeProvider.System;
        var client = http ?? new HttpClient();
        return new ExtensionsAIMediaGenerator(
            Name, options, imageGenerator, ownsGenerator: false, gate ?? new ProviderRateGate(time), () => client, time, logger ?? NullLogger<ExtensionsAIMediaGenerator>.Instance);
    }

    public static GenerationJob Job(GenerationSettings? settings = null, string? checkpoint = null, int attempt = 1) =>
        GeneratorCalls.Job(Prompt, Model, new DateTimeOffset(2026, 11, 29, 5, 0, 0, TimeSpan.Zero), settings, checkpoint: checkpoint, attempt: attempt);

    public static GenerationContext Context(IMediaGenerator generator, GenerationJob job, RecordingCheckpointSink? checkpoint = null, CancellationToken jobAborted = default) =>
        GeneratorCalls.Context(generator, job, checkpoint, jobAborted: jobAborted);

    /// <summary>The state a saved checkpoint names.</summary>
    public static string State(string checkpoint) => JsonDocument.Parse(checkpoint).RootElement.GetProperty("state").GetString()!;
}
