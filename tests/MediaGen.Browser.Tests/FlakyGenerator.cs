namespace MediaGen.Browser.Tests;

/// <summary>
/// A generator for the dashboard tests: model <c>flaky</c> fails with a transient error while <see cref="Failing"/> is set
/// (so once its attempts are exhausted the job fails and is dead-lettered) and otherwise returns a small PNG; a prompt containing "slow" runs until canceled, so a screenshot
/// catches it running.
/// </summary>
public sealed class FlakyGenerator : IMediaGenerator
{
    public const string ModelId = "flaky";

    private static readonly byte[] Png = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAABj0lEQVR4nA3LkYIFIQAAwPuc5eU4juM4juM4juM4Ht4vujc+f8IjPtIjP8qjPtqjP8ZjPtZjP87jPjy+5094xVd65Vd51Vd79dd4zdd67dd53ZfX9/5CEIMU5KAENWhBD0YwgxXs4AQ3EHzhF6IYpShHJapRi3o0ohmtaEcnupHoi7+QxCQlOSlJTVrSk5HMZCU7OclNJF/6hSxmKctZyWrWsp6NbGYr29nJbib78i8UsUhFLkpRi1b0YhSzWMUuTnELxVd+oYpVqnJVqlq1qlejmtWqdnWqW6m++gtNbFKTm9LUpjW9Gc1sVrOb09xG87Vf6GKXutyVrnat693oZre63Z3udrqv/8IQhzTkoQx1aEMfxjCHNezhDHcwfOMXpjilKU9lqlOb+jSmOa1pT2e6k+mbv7DEJS15KUtd2tKXscxlLXs5y10s3/qFLW5py1vZ6ta2vo1tbmvb29nuZvv2LxzxSEc+ylGPdvRjHPNYxz7OcQ/Hd37hile68lWuerWrX+Oa17r2da57ub77D2PqwhD6EsWVAAAAAElFTkSuQmCC");

    private volatile bool _failing = true;

    /// <summary>Whether jobs fail for good now.</summary>
    public bool Failing
    {
        get => _failing;
        set => _failing = value;
    }

    public string Name => "flaky";

    public IReadOnlyList<ModelDescriptor> Models { get; } =
        [new ModelDescriptor { Id = ModelId, DisplayName = "Flaky (tests)", CostCredits = 1, ExpectedDuration = TimeSpan.FromSeconds(1) }];

    public async ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default)
    {
        if (context.Job.Request.Prompt.Contains("slow", StringComparison.Ordinal))
        {
            context.Progress.Report(new GenerationProgress(0.4, "painting slowly"));
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        }

        if (Failing)
        {
            throw new GenerationException(MediaGenErrorCodes.GeneratorTransient, "The flaky model is down.", isTransient: true);
        }

        return new GenerationResult([GeneratedOutput.FromBytes("image/png", Png)]);
    }
}
