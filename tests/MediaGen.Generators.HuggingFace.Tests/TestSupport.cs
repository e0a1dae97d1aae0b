using Microsoft.Extensions.Logging.Abstractions;

namespace MediaGen.Generators.HuggingFace.Tests;

internal static class TestSupport
{
    public const string Prompt = "a red fox in fresh snow, telephoto photograph";

    public const string Model = "hf-flux-1-dev";

    public static void Configure(HuggingFaceGeneratorOptions options, FakeHuggingFaceServer server)
    {
        options.BaseUrl = server.BaseUrl;
        options.ApiToken = FakeHuggingFaceServer.Token;
        options.RetryBaseDelay = TimeSpan.FromMilliseconds(1);
        options.RequestTimeout = TimeSpan.FromMinutes(5);

        // The built-in model is served by fal-ai; most tests speak hf-inference's shape, and choose another provider where they test it.
        options.Models[Model] = new HuggingFaceModelOptions { Provider = HuggingFaceGeneratorOptions.HfInference };
    }

    public static HuggingFaceGenerator Generator(
        FakeHuggingFaceServer server,
        HttpClient httpClient,
        Action<HuggingFaceGeneratorOptions>? configure = null,
        TimeProvider? timeProvider = null,
        ILogger<HuggingFaceGenerator>? logger = null)
    {
        var options = new HuggingFaceGeneratorOptions();
        Configure(options, server);
        configure?.Invoke(options);
        return new HuggingFaceGenerator(
            Microsoft.Extensions.Options.Options.Create(options),
            new ProviderHttpClientSource<HuggingFaceGeneratorOptions>(() => httpClient),
            new ProviderRateGate(timeProvider ?? TimeProvider.System),
            timeProvider ?? TimeProvider.System,
            logger ?? NullLogger<HuggingFaceGenerator>.Instance);
    }

    public static GenerationJob Job(GenerationSettings? settings = null, IReadOnlyDictionary<string, System.Text.Json.JsonElement>? parameters = null) =>
        GeneratorCalls.Job(Prompt, Model, new DateTimeOffset(2026, 11, 23, 5, 0, 0, TimeSpan.Zero), settings, parameters);

    public static GenerationContext Context(IMediaGenerator generator, GenerationJob job, RecordingCheckpointSink? checkpoint = null, CancellationToken jobAborted = default) =>
        GeneratorCalls.Context(generator, job, checkpoint, jobAborted: jobAborted);
}
