namespace MediaGen.TestSupport;

/// <summary>A generator that returns one tiny PNG at once, for the model <c>instant</c> at 3 credits an output.</summary>
public sealed class InstantGenerator : IMediaGenerator
{
    /// <summary>The model it serves.</summary>
    public const string ModelId = "instant";

    private static readonly byte[] Pixel = [0x89, 0x50, 0x4E, 0x47];

    /// <inheritdoc />
    public string Name => "instant";

    /// <inheritdoc />
    public IReadOnlyList<ModelDescriptor> Models { get; } = [new ModelDescriptor { Id = ModelId, CostCredits = 3 }];

    /// <inheritdoc />
    public ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(new GenerationResult([GeneratedOutput.FromBytes("image/png", Pixel)]));
}
