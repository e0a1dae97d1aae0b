using System.Collections.Concurrent;
using MediaGen.Generators.Http;
using MediaGen.Generators.HuggingFace.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

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
            timeProvider ?? TimeProvider.System,
            logger ?? NullLogger<HuggingFaceGenerator>.Instance);
    }

    public static GenerationJob Job(GenerationSettings? settings = null, IReadOnlyDictionary<string, System.Text.Json.JsonElement>? parameters = null) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        Request = new GenerationRequest
        {
            Prompt = Prompt,
            Model = Model,
            OwnerId = "owner-1",
            Settings = settings ?? GenerationSettings.Default,
            Parameters = parameters,
        },
        Status = JobStatus.Processing,
        Attempt = 1,
        CreatedAt = new DateTimeOffset(2026, 11, 23, 5, 0, 0, TimeSpan.Zero),
    };

    public static GenerationContext Context(IMediaGenerator generator, GenerationJob job, RecordingCheckpointSink? checkpoint = null, CancellationToken jobAborted = default) =>
        new(job, generator.Models.Single(m => m.Id == job.Request.Model), new RecordingProgress(), checkpoint ?? new RecordingCheckpointSink(), jobAborted);

    public static async Task<byte[]> ReadAllAsync(GeneratedOutput output)
    {
        var stream = await output.OpenReadAsync();
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            return copy.ToArray();
        }
    }

    /// <summary>
    /// Moves fake time forward a step at a time until <paramref name="done"/> completes, giving real work (HTTP on
    /// loopback) a moment after each step, and checks <paramref name="invariant"/> at every step before
    /// <paramref name="until"/>. Returns the fake time that passed.
    /// </summary>
    public static async Task<TimeSpan> AdvanceUntilDoneAsync(FakeTimeProvider time, Task done, TimeSpan step, TimeSpan until, Action invariant)
    {
        var elapsed = TimeSpan.Zero;
        for (var i = 0; i < 2000 && !done.IsCompleted; i++)
        {
            if (elapsed < until)
            {
                invariant();
            }

            time.Advance(step);
            elapsed += step;
            await Task.WhenAny(done, Task.Delay(20));
        }

        await done.WaitAsync(TimeSpan.FromSeconds(30));
        return elapsed;
    }

    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition(), $"Timed out waiting until {what}.");
    }
}

internal sealed class RecordingCheckpointSink : ICheckpointSink
{
    public ConcurrentQueue<string> Saved { get; } = new();

    public ValueTask SaveAsync(string checkpoint, CancellationToken cancellationToken = default)
    {
        Saved.Enqueue(checkpoint);
        return ValueTask.CompletedTask;
    }
}

internal sealed class RecordingProgress : IProgress<GenerationProgress>
{
    public ConcurrentQueue<GenerationProgress> Reports { get; } = new();

    public void Report(GenerationProgress value) => Reports.Enqueue(value);
}
