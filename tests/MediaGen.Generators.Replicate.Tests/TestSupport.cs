namespace MediaGen.Generators.Replicate.Tests;

internal static class TestSupport
{
    public const string Prompt = "a lighthouse on a cliff at dusk, oil painting";

    public static ReplicateGeneratorOptions Options(FakeReplicateServer server, Action<ReplicateGeneratorOptions>? configure = null)
    {
        var options = new ReplicateGeneratorOptions
        {
            BaseUrl = server.BaseUrl,
            ApiToken = FakeReplicateServer.Token,
            PollInitialInterval = TimeSpan.FromMilliseconds(1),
            PollMaxInterval = TimeSpan.FromMilliseconds(5),
            RetryBaseDelay = TimeSpan.FromMilliseconds(1),
            RequestTimeout = TimeSpan.FromMinutes(5),
            UnconfirmedCreateLookupDelay = TimeSpan.Zero,
        };
        configure?.Invoke(options);
        return options;
    }

    public static ReplicateGenerator Generator(
        FakeReplicateServer server,
        HttpClient httpClient,
        Action<ReplicateGeneratorOptions>? configure = null,
        TimeProvider? timeProvider = null,
        ILogger<ReplicateGenerator>? logger = null) =>
        new(
            Microsoft.Extensions.Options.Options.Create(Options(server, configure)),
            new ProviderHttpClientSource<ReplicateGeneratorOptions>(() => httpClient),
            new ProviderRateGate(timeProvider ?? TimeProvider.System),
            timeProvider ?? TimeProvider.System,
            logger ?? NullLogger<ReplicateGenerator>.Instance);

    public static GenerationJob Job(string model = "flux-schnell", GenerationSettings? settings = null, string? checkpoint = null, int attempt = 1, DateTimeOffset? deadline = null) =>
        GeneratorCalls.Job(Prompt, model, new DateTimeOffset(2026, 11, 23, 5, 0, 0, TimeSpan.Zero), settings, checkpoint: checkpoint, attempt: attempt, deadline: deadline);

    /// <summary>The one prediction id a generator saved (besides the marks it saves before each create).</summary>
    public static string SavedPrediction(RecordingCheckpointSink checkpoint) => Assert.Single(checkpoint.Saved, s => !IsCreateMark(s));

    /// <summary>Whether a checkpoint marks a create in flight rather than naming a prediction.</summary>
    public static bool IsCreateMark(string checkpoint) => checkpoint.StartsWith("creating:", StringComparison.Ordinal);

    public static GenerationContext Context(
        IMediaGenerator generator,
        GenerationJob job,
        RecordingCheckpointSink? checkpoint = null,
        RecordingProgress? progress = null,
        CancellationToken jobAborted = default) =>
        GeneratorCalls.Context(generator, job, checkpoint, progress, jobAborted);
}
