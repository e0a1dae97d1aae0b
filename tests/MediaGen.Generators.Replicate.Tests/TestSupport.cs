using System.Collections.Concurrent;
using MediaGen.Generators.Http;
using MediaGen.Generators.Replicate.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Extensions.Options;

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
            timeProvider ?? TimeProvider.System,
            logger ?? NullLogger<ReplicateGenerator>.Instance);

    public static GenerationJob Job(string model = "flux-schnell", GenerationSettings? settings = null, string? checkpoint = null, int attempt = 1) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        Request = new GenerationRequest
        {
            Prompt = Prompt,
            Model = model,
            OwnerId = "owner-1",
            Settings = settings ?? GenerationSettings.Default,
        },
        Status = JobStatus.Processing,
        Attempt = attempt,
        CreatedAt = new DateTimeOffset(2026, 11, 23, 5, 0, 0, TimeSpan.Zero),
        Checkpoint = checkpoint,
    };

    public static GenerationContext Context(
        IMediaGenerator generator,
        GenerationJob job,
        RecordingCheckpointSink? checkpoint = null,
        RecordingProgress? progress = null,
        CancellationToken jobAborted = default) =>
        new(job, generator.Models.Single(m => m.Id == job.Request.Model), progress ?? new RecordingProgress(), checkpoint ?? new RecordingCheckpointSink(), jobAborted);

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

    /// <summary>Waits for a condition another thread makes true, failing after a bound instead of hanging.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Yield();
            await Task.Delay(10);
        }

        Assert.True(condition(), $"Timed out waiting until {what}.");
    }
}

internal sealed class RecordingCheckpointSink : ICheckpointSink
{
    public ConcurrentQueue<string> Saved { get; } = new();

    /// <summary>Runs when a checkpoint is saved, after it is recorded.</summary>
    public Action<string>? OnSaved { get; set; }

    /// <summary>When set, saving fails with this exception instead.</summary>
    public Exception? Failure { get; set; }

    public ValueTask SaveAsync(string checkpoint, CancellationToken cancellationToken = default)
    {
        if (Failure is not null)
        {
            return ValueTask.FromException(Failure);
        }

        Saved.Enqueue(checkpoint);
        OnSaved?.Invoke(checkpoint);
        return ValueTask.CompletedTask;
    }
}

internal sealed class RecordingProgress : IProgress<GenerationProgress>
{
    public ConcurrentQueue<GenerationProgress> Reports { get; } = new();

    public Action<GenerationProgress>? OnReport { get; set; }

    public void Report(GenerationProgress value)
    {
        Reports.Enqueue(value);
        OnReport?.Invoke(value);
    }
}
