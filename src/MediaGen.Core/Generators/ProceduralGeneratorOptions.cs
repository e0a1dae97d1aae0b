using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MediaGen.Shared;

namespace MediaGen;

/// <summary>
/// Options for the procedural image generator added by <c>AddProceduralGenerator</c>: a generator that draws real PNG
/// images from the prompt and seed, offline and without an account, with a simulated latency.
/// </summary>
public sealed class ProceduralGeneratorOptions
{
    /// <summary>How long one generation pretends to take, spread evenly over <see cref="ProgressSteps"/>.</summary>
    /// <value>The default value is 2 seconds.</value>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan SimulatedDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How many progress reports one generation makes while it waits.</summary>
    /// <value>The default value is 10.</value>
    [Range(1, 1000)]
    public int ProgressSteps { get; set; } = 10;

    /// <summary>What one output (image) of the <c>procedural</c> model costs, in credits; a job pays it per output asked for.</summary>
    /// <value>The default value is 1.</value>
    [Range(0L, 1_000_000L)]
    public long CostCredits { get; set; } = 1;

    /// <summary>What one output (image) of the <c>procedural-hd</c> model costs, in credits; a job pays it per output asked for.</summary>
    /// <value>The default value is 4.</value>
    [Range(0L, 1_000_000L)]
    public long HdCostCredits { get; set; } = 4;
}

/// <summary>Validates <see cref="ProceduralGeneratorOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class ProceduralGeneratorOptionsValidator : IValidateOptions<ProceduralGeneratorOptions>
{
}
