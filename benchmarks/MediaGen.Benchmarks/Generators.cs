using System.Diagnostics;
using System.Globalization;

namespace MediaGen.Benchmarks;

/// <summary>A generator that does nothing and returns no outputs, so a run measures the pipeline around it.</summary>
internal sealed class NoOpGenerator : IMediaGenerator
{
    public const string ModelId = "noop";

    public string Name => "noop";

    public IReadOnlyList<ModelDescriptor> Models { get; } = [new ModelDescriptor { Id = ModelId, CostCredits = 1, ExpectedDuration = TimeSpan.Zero }];

    public ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(new GenerationResult([]));
}

/// <summary>
/// A no-op generator that records when each job started. The job's index travels in its prompt (<c>job 123</c>), so the
/// start can be matched with the submit timestamp the submitter wrote into the same slot before submitting.
/// </summary>
internal sealed class StartRecordingGenerator(long[] started) : IMediaGenerator
{
    public const string PromptPrefix = "job ";

    public string Name => "noop";

    public IReadOnlyList<ModelDescriptor> Models { get; } = [new ModelDescriptor { Id = NoOpGenerator.ModelId, CostCredits = 1, ExpectedDuration = TimeSpan.Zero }];

    public ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default)
    {
        var now = Stopwatch.GetTimestamp();
        var index = int.Parse(context.Request.Prompt.AsSpan(PromptPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture);
        started[index] = now;
        return ValueTask.FromResult(new GenerationResult([]));
    }
}

/// <summary>A generator that waits (real time) and returns no outputs: an I/O-bound provider call.</summary>
internal sealed class DelayGenerator(TimeSpan delay) : IMediaGenerator
{
    public string Name => "delay";

    public IReadOnlyList<ModelDescriptor> Models { get; } = [new ModelDescriptor { Id = NoOpGenerator.ModelId, CostCredits = 1, ExpectedDuration = delay }];

    public async ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default)
    {
        await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        return new GenerationResult([]);
    }
}
