using System.ComponentModel.DataAnnotations;

namespace MediaGen;

/// <summary>
/// One model of an HTTP provider's catalog. Every value is optional so configuration can change one value of a
/// built-in model; a new model falls back to <see cref="ModelSettingsRules.Default"/> for the settings it leaves out.
/// Providers derive from it to add what only they send.
/// </summary>
public class GeneratorModelOptions
{
    /// <summary>The provider's model, <c>owner/name</c>, for example <c>black-forest-labs/flux-schnell</c>.</summary>
    /// <value>The default value is null.</value>
    public string? Model { get; set; }

    /// <summary>A display name.</summary>
    /// <value>The default value is null.</value>
    public string? DisplayName { get; set; }

    /// <summary>What one output (one image) costs, in credits; a job is charged this per output it asks for.</summary>
    /// <value>The default value is null.</value>
    [Range(0, long.MaxValue)]
    public long? CostCredits { get; set; }

    /// <summary>How long a generation usually takes.</summary>
    /// <value>The default value is null.</value>
    public TimeSpan? ExpectedDuration { get; set; }

    /// <summary>Whether width and height are accepted.</summary>
    /// <value>The default value is null.</value>
    public bool? SupportsDimensions { get; set; }

    /// <summary>The smallest width or height.</summary>
    /// <value>The default value is null.</value>
    public int? MinDimension { get; set; }

    /// <summary>The largest width or height.</summary>
    /// <value>The default value is null.</value>
    public int? MaxDimension { get; set; }

    /// <summary>Width and height must be multiples of this.</summary>
    /// <value>The default value is null.</value>
    public int? DimensionMultiple { get; set; }

    /// <summary>The output formats accepted.</summary>
    /// <value>The default value is null.</value>
    public OutputFormat[]? OutputFormats { get; set; }

    /// <summary>Whether a seed is accepted.</summary>
    /// <value>The default value is null.</value>
    public bool? SupportsSeed { get; set; }

    /// <summary>Whether a negative prompt is accepted.</summary>
    /// <value>The default value is null.</value>
    public bool? SupportsNegativePrompt { get; set; }

    /// <summary>Model-specific parameters by MediaGen name (for example <c>guidance</c>, <c>steps</c>); merged by name with the built-in ones.</summary>
    /// <value>The default value is empty.</value>
    public IDictionary<string, GeneratorParameterOptions> Parameters { get; } = new Dictionary<string, GeneratorParameterOptions>(StringComparer.Ordinal);

    /// <summary>
    /// Sets every value this model leaves unset from <paramref name="source"/>, and merges its parameters by name.
    /// A provider's model options override this to fill their own values too, calling the base first.
    /// </summary>
    /// <param name="source">The values to fall back to (a built-in model, or configuration merged into a new one).</param>
    protected internal virtual void FillUnsetFrom(GeneratorModelOptions source)
    {
        ArgumentNullException.ThrowIfNull(source);
        Model ??= source.Model;
        DisplayName ??= source.DisplayName;
        CostCredits ??= source.CostCredits;
        ExpectedDuration ??= source.ExpectedDuration;
        SupportsDimensions ??= source.SupportsDimensions;
        MinDimension ??= source.MinDimension;
        MaxDimension ??= source.MaxDimension;
        DimensionMultiple ??= source.DimensionMultiple;
        OutputFormats ??= source.OutputFormats;
        SupportsSeed ??= source.SupportsSeed;
        SupportsNegativePrompt ??= source.SupportsNegativePrompt;
        foreach (var (name, parameter) in source.Parameters)
        {
            Parameters[name] = Parameters.TryGetValue(name, out var own) ? own.WithUnsetFrom(parameter) : parameter;
        }
    }

    /// <summary>
    /// Applies what only this provider's models say to the settings rules built from the shared values (for example
    /// aspect ratios and the number of outputs). By default a model takes no aspect ratio and makes one output.
    /// </summary>
    /// <param name="settings">The rules built from the shared values.</param>
    /// <returns>The rules MediaGen validates requests for this model with.</returns>
    protected internal virtual ModelSettingsRules ToSettings(ModelSettingsRules settings) => settings;

    /// <summary>Checks what only this provider's models require, once the shared values are valid.</summary>
    /// <param name="settings">The model's settings rules.</param>
    /// <param name="path">The model's configuration path, for example <c>MediaGen:Generators:Replicate:Models:flux-dev</c>.</param>
    /// <returns>What is wrong, or null.</returns>
    protected internal virtual string? Validate(ModelSettingsRules settings, string path) => null;
}

/// <summary>A model-specific parameter: the rule it is validated with at submission and the provider input it is sent as.</summary>
public sealed class GeneratorParameterOptions
{
    /// <summary>The provider's input name, for example <c>guidance_scale</c>; null sends it under its MediaGen name.</summary>
    /// <value>The default value is null.</value>
    public string? Input { get; set; }

    /// <summary>The kind of value.</summary>
    /// <value>The default value is null (a number for a new parameter).</value>
    public ModelParameterKind? Kind { get; set; }

    /// <summary>The smallest number accepted.</summary>
    /// <value>The default value is null.</value>
    public double? Minimum { get; set; }

    /// <summary>The largest number accepted.</summary>
    /// <value>The default value is null.</value>
    public double? Maximum { get; set; }

    /// <summary>For strings, the values accepted; null accepts any string.</summary>
    /// <value>The default value is null.</value>
    public string[]? AllowedValues { get; set; }

    /// <summary>Builds the rule MediaGen validates the parameter with (a number when <see cref="Kind"/> is unset).</summary>
    /// <returns>The rule.</returns>
    public ModelParameterRule ToRule() => new()
    {
        Kind = Kind ?? ModelParameterKind.Number,
        Minimum = Minimum,
        Maximum = Maximum,
        AllowedValues = AllowedValues,
    };

    /// <summary>Builds the rules of a model's parameters, by MediaGen name.</summary>
    /// <param name="parameters">The parameters' options.</param>
    /// <returns>The rules.</returns>
    public static IReadOnlyDictionary<string, ModelParameterRule> ToRules(IDictionary<string, GeneratorParameterOptions> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return parameters.ToDictionary(p => p.Key, p => p.Value.ToRule(), StringComparer.Ordinal);
    }

    internal GeneratorParameterOptions WithUnsetFrom(GeneratorParameterOptions source) => new()
    {
        Input = Input ?? source.Input,
        Kind = Kind ?? source.Kind,
        Minimum = Minimum ?? source.Minimum,
        Maximum = Maximum ?? source.Maximum,
        AllowedValues = AllowedValues ?? source.AllowedValues,
    };
}
