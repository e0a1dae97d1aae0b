using System.Globalization;
using Microsoft.Extensions.Options;

namespace MediaGen.Internal;

/// <summary>
/// Draws real PNG images from the prompt and seed, offline and free: a gradient and a few shapes whose colours come
/// from a stable hash of the prompt and whose layout comes from the prompt, the seed and the output index. It waits
/// <see cref="ProceduralGeneratorOptions.SimulatedDuration"/> on the injected <see cref="TimeProvider"/>, reporting
/// progress, so the samples and tests see a generator that takes time. Two parameters fail on purpose, so failures can
/// be tried without a provider: <c>simulateFailure</c> fails an attempt, <c>failOutputs</c> fails chosen outputs.
/// </summary>
internal sealed class ProceduralImageGenerator : IMediaGenerator
{
    /// <summary>The standard model's id.</summary>
    public const string ModelId = "procedural";

    /// <summary>The high-resolution model's id.</summary>
    public const string HdModelId = "procedural-hd";

    /// <summary>The parameter that sets how many shapes are drawn.</summary>
    public const string ShapesParameter = "shapes";

    /// <summary>The parameter that makes an attempt fail on purpose, to try retries and failures.</summary>
    public const string SimulateFailureParameter = "simulateFailure";

    /// <summary>
    /// The parameter that fails chosen outputs on purpose, to try partial success and its refund: output indexes from 0,
    /// separated by commas, such as <c>"1,3"</c>. Those outputs are reported failed on every attempt; the others are drawn.
    /// </summary>
    public const string FailOutputsParameter = "failOutputs";

    private const int DefaultShapes = 9;
    private static readonly string[] AspectRatios = ["1:1", "16:9", "9:16", "4:3", "3:4"];

    private readonly ProceduralGeneratorOptions _options;
    private readonly TimeProvider _timeProvider;

    public ProceduralImageGenerator(IOptions<ProceduralGeneratorOptions> options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = options.Value;
        _timeProvider = timeProvider;
        Models =
        [
            CreateModel(ModelId, "Procedural (offline)", _options.CostCredits, maxDimension: 1024, _options.SimulatedDuration),
            CreateModel(HdModelId, "Procedural HD (offline)", _options.HdCostCredits, maxDimension: 2048, _options.SimulatedDuration),
        ];
    }

    public string Name => "procedural";

    public IReadOnlyList<ModelDescriptor> Models { get; }

    public async ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        cancellationToken.ThrowIfCancellationRequested();
        var request = context.Request;
        var settings = request.Settings ?? GenerationSettings.Default;
        var (width, height) = ResolveSize(settings, request.Model == HdModelId ? 1024 : 512);
        var outputCount = settings.OutputCount ?? 1;
        var shapes = ReadInt(request, ShapesParameter) ?? DefaultShapes;
        var failure = ReadString(request, SimulateFailureParameter);
        if (failure == "permanent")
        {
            throw GenerationException.Permanent("The request asked for a simulated permanent failure (parameters.simulateFailure).");
        }

        var steps = _options.ProgressSteps;
        var step = _options.SimulatedDuration / steps;
        for (var i = 1; i <= steps; i++)
        {
            await Task.Delay(step, _timeProvider, cancellationToken).ConfigureAwait(false);
            if (i == 1 && (failure == "transient" || (failure == "transient-once" && context.Attempt <= 1)))
            {
                throw GenerationException.Transient("The request asked for a simulated transient failure (parameters.simulateFailure).");
            }

            context.Progress.Report(new GenerationProgress((double)i / steps, string.Create(CultureInfo.InvariantCulture, $"step {i}/{steps}")));
        }

        // Without a seed every job draws its own picture, as a real model would; with one, the picture is reproducible.
        var seed = settings.Seed?.ToString(CultureInfo.InvariantCulture) ?? "job:" + context.Job.Id;
        var paletteSeed = ProceduralPainter.StableHash("palette", request.Prompt, request.NegativePrompt);
        var failed = ReadFailedOutputs(request, outputCount);
        var outputs = new List<GeneratedOutput>(outputCount - failed.Count);
        for (var index = 0; index < outputCount; index++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!failed.Any(f => f.Index == index))
            {
                outputs.Add(Render(request.Prompt, request.NegativePrompt, seed, index, width, height, shapes, paletteSeed, cancellationToken));
            }
        }

        return failed.Count == 0 ? new GenerationResult(outputs) : new GenerationResult(outputs, failed);
    }

    /// <summary>The outputs <see cref="FailOutputsParameter"/> names (validated at submission), as failures.</summary>
    private static List<OutputFailure> ReadFailedOutputs(GenerationRequest request, int outputCount)
    {
        var failed = new List<OutputFailure>();
        if (request.Parameters is { } p && p.TryGetValue(FailOutputsParameter, out var value) && ModelParameterRule.TryReadOutputIndexes(value, out var indexes))
        {
            foreach (var index in indexes.Where(i => i < outputCount).Order())
            {
                failed.Add(new OutputFailure(
                    index,
                    MediaGenErrorCodes.GeneratorPermanent,
                    string.Create(CultureInfo.InvariantCulture, $"Output {index} failed on purpose (parameters.{FailOutputsParameter}).")));
            }
        }

        return failed;
    }

    /// <summary>Draws one output; the same arguments always give the same bytes.</summary>
    internal static GeneratedOutput Render(string prompt, string? negativePrompt, string seed, int index, int width, int height, int shapes, ulong paletteSeed, CancellationToken cancellationToken)
    {
        var layoutSeed = ProceduralPainter.StableHash("layout", prompt, negativePrompt, seed, index.ToString(CultureInfo.InvariantCulture));
        var pixels = ProceduralPainter.Paint(width, height, paletteSeed, layoutSeed, shapes, cancellationToken);
        var png = PngEncoder.EncodeRgb(pixels, width, height);
        return new GeneratedOutput("image/png", _ => ValueTask.FromResult<Stream>(new MemoryStream(png, writable: false)))
        {
            Length = png.Length,
            Width = width,
            Height = height,
        };
    }

    /// <summary>The pixel size a request asks for: its width and height, its aspect ratio on the model's default long side, or a square.</summary>
    internal static (int Width, int Height) ResolveSize(GenerationSettings settings, int defaultSide)
    {
        if (settings.Width is not null || settings.Height is not null)
        {
            var w = settings.Width ?? settings.Height!.Value;
            var h = settings.Height ?? w;
            return (w, h);
        }

        if (settings.AspectRatio is { } ratio)
        {
            var colon = ratio.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0
                && int.TryParse(ratio.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var a)
                && int.TryParse(ratio.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var b)
                && a > 0 && b > 0)
            {
                return a >= b
                    ? (defaultSide, RoundToMultipleOf8(defaultSide * (double)b / a))
                    : (RoundToMultipleOf8(defaultSide * (double)a / b), defaultSide);
            }
        }

        return (defaultSide, defaultSide);
    }

    private static int RoundToMultipleOf8(double value) => Math.Max(8, (int)Math.Round(value / 8) * 8);

    private static int? ReadInt(GenerationRequest request, string name) =>
        request.Parameters is { } p && p.TryGetValue(name, out var value) && value.TryGetInt32(out var number) ? number : null;

    private static string? ReadString(GenerationRequest request, string name) =>
        request.Parameters is { } p && p.TryGetValue(name, out var value) && value.ValueKind == System.Text.Json.JsonValueKind.String ? value.GetString() : null;

    private static ModelDescriptor CreateModel(string id, string displayName, long cost, int maxDimension, TimeSpan expectedDuration) => new()
    {
        Id = id,
        DisplayName = displayName,
        CostCredits = cost,
        ExpectedDuration = expectedDuration,
        Settings = new ModelSettingsRules
        {
            SupportsDimensions = true,
            MinDimension = 64,
            MaxDimension = maxDimension,
            DimensionMultiple = 8,
            AspectRatios = AspectRatios,
            MaxOutputs = 4,
            OutputFormats = [OutputFormat.Png],
            SupportsSeed = true,
            SupportsNegativePrompt = true,
            Parameters = new Dictionary<string, ModelParameterRule>(StringComparer.Ordinal)
            {
                [ShapesParameter] = new() { Kind = ModelParameterKind.Integer, Minimum = 0, Maximum = 64 },
                [SimulateFailureParameter] = new() { Kind = ModelParameterKind.String, AllowedValues = ["transient-once", "transient", "permanent"] },
                [FailOutputsParameter] = new() { Kind = ModelParameterKind.OutputIndexes },
            },
        },
    };
}
