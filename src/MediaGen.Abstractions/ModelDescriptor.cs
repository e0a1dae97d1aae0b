using System.Text.Json;

namespace MediaGen;

/// <summary>A model a generator serves: its id, price per output and the settings it accepts.</summary>
public sealed record ModelDescriptor
{
    /// <summary>The id callers put in <see cref="GenerationRequest.Model"/>, for example <c>flux-schnell</c>.</summary>
    public required string Id { get; init; }

    /// <summary>A display name.</summary>
    public string? DisplayName { get; init; }

    /// <summary>
    /// What one output (one image) of this model costs, in credits. A job is charged this times the number of outputs it
    /// asks for (see <see cref="GetCost"/>); outputs the generator reports as failed are refunded. Zero makes the model free.
    /// </summary>
    public required long CostCredits { get; init; }

    /// <summary>How long a generation usually takes; a hint for clients and for timeouts.</summary>
    public TimeSpan ExpectedDuration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The settings the model accepts.</summary>
    public ModelSettingsRules Settings { get; init; } = ModelSettingsRules.Default;

    /// <summary>
    /// What a job for <paramref name="request"/> costs: <see cref="CostCredits"/> times the number of outputs it asks for
    /// (<see cref="GenerationRequest.GetOutputCount"/>, one when the request leaves it unset).
    /// </summary>
    /// <param name="request">The request.</param>
    /// <returns>The credits the job is charged at submission.</returns>
    /// <exception cref="OverflowException">The product does not fit in 64 bits; <see cref="Validate"/> reports it as an error.</exception>
    public long GetCost(GenerationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return checked(CostCredits * request.GetOutputCount());
    }

    /// <summary>Validates a request against this model's rules.</summary>
    /// <param name="request">The request.</param>
    /// <returns>Field name to messages; empty when the request is acceptable.</returns>
    public IReadOnlyDictionary<string, string[]> Validate(GenerationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = new ValidationErrors();
        Settings.Validate(request, ref errors);
        if (CostCredits > 0 && request.GetOutputCount() > long.MaxValue / CostCredits)
        {
            errors.Add("settings.outputCount", $"{request.GetOutputCount()} outputs at {CostCredits} credits each cost more credits than can be counted.");
        }

        return errors.ToDictionary() ?? EmptyErrors;
    }

    private static readonly IReadOnlyDictionary<string, string[]> EmptyErrors = new Dictionary<string, string[]>();
}

/// <summary>The settings a model accepts. A null rule means "not supported".</summary>
public sealed record ModelSettingsRules
{
    /// <summary>Rules for a model that accepts width/height from 64 to 2048 in multiples of 8, 1 to 4 outputs, PNG only, and a seed.</summary>
    public static ModelSettingsRules Default { get; } = new();

    /// <summary>Whether explicit <see cref="GenerationSettings.Width"/> and <see cref="GenerationSettings.Height"/> are accepted.</summary>
    public bool SupportsDimensions { get; init; } = true;

    /// <summary>The smallest width or height.</summary>
    public int MinDimension { get; init; } = 64;

    /// <summary>The largest width or height.</summary>
    public int MaxDimension { get; init; } = 2048;

    /// <summary>Width and height must be multiples of this.</summary>
    public int DimensionMultiple { get; init; } = 8;

    /// <summary>The aspect ratios accepted; empty when the model takes no aspect ratio.</summary>
    public IReadOnlyList<string> AspectRatios { get; init; } = [];

    /// <summary>The most outputs one request may ask for.</summary>
    public int MaxOutputs { get; init; } = 4;

    /// <summary>The output formats accepted.</summary>
    public IReadOnlyList<OutputFormat> OutputFormats { get; init; } = [OutputFormat.Png];

    /// <summary>Whether a seed is accepted.</summary>
    public bool SupportsSeed { get; init; } = true;

    /// <summary>Whether a negative prompt is accepted.</summary>
    public bool SupportsNegativePrompt { get; init; }

    /// <summary>Model-specific parameters accepted in <see cref="GenerationRequest.Parameters"/>, by name.</summary>
    public IReadOnlyDictionary<string, ModelParameterRule> Parameters { get; init; } = new Dictionary<string, ModelParameterRule>();

    internal void Validate(GenerationRequest request, ref ValidationErrors error)
    {
        var s = request.Settings ?? GenerationSettings.Default;
        if (s.Width is not null || s.Height is not null)
        {
            if (!SupportsDimensions)
            {
                error.Add("settings.width", $"Model '{request.Model}' does not accept width and height; use an aspect ratio.");
            }
            else
            {
                if (s.AspectRatio is not null)
                {
                    error.Add("settings.aspectRatio", "Give either an aspect ratio or width and height, not both.");
                }

                CheckDimension("settings.width", s.Width, ref error);
                CheckDimension("settings.height", s.Height, ref error);
            }
        }

        if (s.AspectRatio is not null && !AspectRatios.Contains(s.AspectRatio, StringComparer.Ordinal))
        {
            error.Add("settings.aspectRatio", AspectRatios.Count == 0
                ? $"Model '{request.Model}' does not accept an aspect ratio."
                : $"Aspect ratio '{s.AspectRatio}' is not one of: {string.Join(", ", AspectRatios)}.");
        }

        if (s.OutputCount is { } count && (count < 1 || count > MaxOutputs))
        {
            error.Add("settings.outputCount", $"The output count must be between 1 and {MaxOutputs}.");
        }

        if (s.OutputFormat is { } format && !OutputFormats.Contains(format))
        {
            error.Add("settings.outputFormat", $"Output format '{format}' is not one of: {string.Join(", ", OutputFormats)}.");
        }

        if (s.Seed is not null && !SupportsSeed)
        {
            error.Add("settings.seed", $"Model '{request.Model}' does not accept a seed.");
        }

        if (request.NegativePrompt is not null && !SupportsNegativePrompt)
        {
            error.Add("negativePrompt", $"Model '{request.Model}' does not accept a negative prompt.");
        }

        if (request.Parameters is { Count: > 0 } parameters)
        {
            foreach (var (name, value) in parameters)
            {
                if (!Parameters.TryGetValue(name, out var rule))
                {
                    error.Add($"parameters.{name}", $"Model '{request.Model}' has no parameter '{name}'.");
                }
                else if (rule.Check(value) is { } message)
                {
                    error.Add($"parameters.{name}", message);
                }
                else if (rule.Kind == ModelParameterKind.OutputIndexes && ModelParameterRule.TryReadOutputIndexes(value, out var indexes))
                {
                    var asked = request.GetOutputCount();
                    foreach (var index in indexes.Where(i => i >= asked))
                    {
                        error.Add($"parameters.{name}", $"Output {index} does not exist: the request asks for {asked} output(s), numbered from 0.");
                    }
                }
            }
        }
    }

    private void CheckDimension(string field, int? value, ref ValidationErrors error)
    {
        if (value is not { } v)
        {
            error.Add(field, "Give both width and height.");
        }
        else if (v < MinDimension || v > MaxDimension)
        {
            error.Add(field, $"Must be between {MinDimension} and {MaxDimension}.");
        }
        else if (DimensionMultiple > 1 && v % DimensionMultiple != 0)
        {
            error.Add(field, $"Must be a multiple of {DimensionMultiple}.");
        }
    }
}

/// <summary>The kind of value a model parameter takes.</summary>
public enum ModelParameterKind
{
    /// <summary>A JSON number with or without a fraction.</summary>
    Number = 0,

    /// <summary>A JSON number without a fraction.</summary>
    Integer = 1,

    /// <summary>A JSON string.</summary>
    String = 2,

    /// <summary>A JSON true or false.</summary>
    Boolean = 3,

    /// <summary>
    /// A JSON string naming some of the request's outputs by index, separated by commas, such as <c>"1,3"</c>: each a
    /// whole number from 0, named once, and below the request's output count. Read it with
    /// <see cref="ModelParameterRule.TryReadOutputIndexes"/>.
    /// </summary>
    OutputIndexes = 4,
}

/// <summary>What a model-specific parameter accepts.</summary>
public sealed record ModelParameterRule
{
    /// <summary>The kind of value.</summary>
    public required ModelParameterKind Kind { get; init; }

    /// <summary>The smallest number accepted.</summary>
    public double? Minimum { get; init; }

    /// <summary>The largest number accepted.</summary>
    public double? Maximum { get; init; }

    /// <summary>For strings, the values accepted; null accepts any string.</summary>
    public IReadOnlyList<string>? AllowedValues { get; init; }

    /// <summary>Checks a value; returns a message when it is not acceptable.</summary>
    /// <param name="value">The value.</param>
    /// <returns>Null when acceptable, otherwise what is wrong.</returns>
    public string? Check(JsonElement value)
    {
        switch (Kind)
        {
            case ModelParameterKind.Number or ModelParameterKind.Integer:
                if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number))
                {
                    return "Must be a number.";
                }

                if (Kind == ModelParameterKind.Integer && !value.TryGetInt64(out _))
                {
                    return "Must be a whole number.";
                }

                if (number < Minimum || number > Maximum)
                {
                    return $"Must be between {Minimum?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-inf"} and {Maximum?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "inf"}.";
                }

                return null;
            case ModelParameterKind.Boolean:
                return value.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : "Must be true or false.";
            case ModelParameterKind.OutputIndexes:
                return TryReadOutputIndexes(value, out _)
                    ? null
                    : "Must be output indexes from 0, each named once, separated by commas (for example \"1,3\").";
            default:
                if (value.ValueKind != JsonValueKind.String)
                {
                    return "Must be a string.";
                }

                if (!TryGetText(value, out var text))
                {
                    return "Must be valid Unicode text.";
                }

                return AllowedValues is null || AllowedValues.Contains(text, StringComparer.Ordinal)
                    ? null
                    : $"Must be one of: {string.Join(", ", AllowedValues)}.";
        }
    }

    /// <summary>
    /// Reads a <see cref="ModelParameterKind.OutputIndexes"/> value: a JSON string of whole numbers from 0 separated by
    /// commas (spaces around them allowed), each named once, such as <c>"1,3"</c>.
    /// </summary>
    /// <param name="value">The parameter's value.</param>
    /// <param name="indexes">The indexes in the order given; empty when the value cannot be read.</param>
    /// <returns>Whether the value is such a list.</returns>
    public static bool TryReadOutputIndexes(JsonElement value, out IReadOnlyList<int> indexes)
    {
        indexes = [];
        if (value.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        if (!TryGetText(value, out var text))
        {
            return false;
        }

        var read = new List<int>();
        foreach (var part in text.Split(','))
        {
            if (!int.TryParse(part.AsSpan().Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)
                || read.Contains(index))
            {
                return false;
            }

            read.Add(index);
        }

        indexes = read;
        return true;
    }

    /// <summary>
    /// A string value's text; false for one that is not valid Unicode once unescaped (a lone surrogate escape such as
    /// <c>"\ud800"</c>), which <see cref="JsonElement.GetString"/> throws on.
    /// </summary>
    private static bool TryGetText(JsonElement value, out string text)
    {
        try
        {
            text = value.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            text = string.Empty;
            return false;
        }
    }
}

/// <summary>Collects validation messages by field, allocating nothing until the first one.</summary>
internal struct ValidationErrors
{
    private Dictionary<string, List<string>>? _errors;

    public void Add(string field, string message)
    {
        _errors ??= new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (!_errors.TryGetValue(field, out var list))
        {
            _errors[field] = list = [];
        }

        list.Add(message);
    }

    public readonly Dictionary<string, string[]>? ToDictionary() =>
        _errors?.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);
}
