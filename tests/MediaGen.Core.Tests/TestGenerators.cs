using System.Text;

namespace MediaGen.Core.Tests;

/// <summary>A generator whose behaviour each test scripts with a delegate; counts its calls.</summary>
internal sealed class ScriptedGenerator(string name, Func<GenerationContext, CancellationToken, ValueTask<GenerationResult>> run, long cost = 5) : IMediaGenerator
{
    private int _calls;

    public string Name { get; } = name;

    public IReadOnlyList<ModelDescriptor> Models { get; } =
    [
        new ModelDescriptor { Id = name + "-model", CostCredits = cost, ExpectedDuration = TimeSpan.FromSeconds(1) },
    ];

    public string ModelId => Models[0].Id;

    public int Calls => Volatile.Read(ref _calls);

    public ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        return run(context, cancellationToken);
    }

    /// <summary>A generator named <c>blocking</c> whose every attempt waits for <paramref name="release"/>, then makes one output.</summary>
    public static ScriptedGenerator Blocking(TaskCompletionSource release) => new("blocking", async (ctx, ct) =>
    {
        await release.Task.WaitAsync(ct);
        return TextOutputs("ok");
    });

    public static GenerationResult TextOutputs(params string[] contents) =>
        new(contents.Select(c => GeneratedOutput.FromBytes("image/png", Encoding.UTF8.GetBytes(c))).ToArray());
}
