using System.ComponentModel.DataAnnotations;

namespace MediaGen;

/// <summary>Options for the Replicate generator (configuration section <c>MediaGen:Generators:Replicate</c>).</summary>
public sealed class ReplicateGeneratorOptions
{
    /// <summary>The API's base URL; point it at any server that speaks Replicate's predictions API.</summary>
    /// <value>The default value is <c>https://api.replicate.com/</c>.</value>
    [Required]
    public Uri BaseUrl { get; set; } = new("https://api.replicate.com/");

    /// <summary>The API token, sent as a bearer token. Required; never logged.</summary>
    /// <value>The default value is empty, which fails validation at start-up.</value>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Set MediaGen:Generators:Replicate:ApiToken to a Replicate API token.")]
    public string ApiToken { get; set; } = string.Empty;

    /// <summary>
    /// When set, a create asks Replicate to hold the response for up to this many seconds (<c>Prefer: wait=N</c>)
    /// so fast models answer without a poll. Null creates without waiting.
    /// </summary>
    /// <value>The default value is null.</value>
    [Range(1, 60)]
    public int? PreferWaitSeconds { get; set; }

    /// <summary>The first delay between two polls of a running prediction.</summary>
    /// <value>The default value is 500 milliseconds.</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan PollInitialInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest delay between two polls; the delay grows by <see cref="PollBackoffFactor"/> up to it.</summary>
    /// <value>The default value is 5 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan PollMaxInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How much the delay between polls grows after each poll.</summary>
    /// <value>The default value is 1.5.</value>
    [Range(1.0, 10.0)]
    public double PollBackoffFactor { get; set; } = 1.5;

    /// <summary>
    /// How many times one call (create, poll, cancel) is retried within an attempt after a 429, a 5xx or a network
    /// error before the attempt fails with a transient error for the worker to retry later.
    /// </summary>
    /// <value>The default value is 3.</value>
    [Range(0, 100)]
    public int MaxRequestRetries { get; set; } = 3;

    /// <summary>The first delay before retrying a call that failed without a Retry-After; it doubles on each retry.</summary>
    /// <value>The default value is 1 second.</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest wait within an attempt: a Retry-After longer than this fails the attempt at once (transient, with
    /// the provider's Retry-After) instead of holding a worker slot.
    /// </summary>
    /// <value>The default value is 30 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxRetryWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the provider is paused after a 429 that carries no Retry-After.</summary>
    /// <value>The default value is 10 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan DefaultRateLimitPause { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The timeout of one API call (a create with <see cref="PreferWaitSeconds"/> gets that much more). Output downloads are not limited by it.</summary>
    /// <value>The default value is 30 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The timeout of the cancel call sent when a job is aborted; it does not use the job's (already canceled) token.</summary>
    /// <value>The default value is 10 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:05:00")]
    public TimeSpan CancelTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether the built-in catalog (flux-schnell, flux-dev, flux-1.1-pro, sdxl, sd3) is served.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool IncludeBuiltInModels { get; set; } = true;

    /// <summary>
    /// Models to add, or changes to built-in ones, by MediaGen model id. For a built-in id only the values set here
    /// replace the built-in ones (for example just <see cref="ReplicateModelOptions.CostCredits"/>); a new id needs at
    /// least <see cref="ReplicateModelOptions.Model"/> and <see cref="ReplicateModelOptions.CostCredits"/>.
    /// </summary>
    /// <value>The default value is empty.</value>
    public IDictionary<string, ReplicateModelOptions> Models { get; } = new Dictionary<string, ReplicateModelOptions>(StringComparer.Ordinal);
}

/// <summary>
/// One model of the Replicate catalog. Every value is optional so configuration can change one value of a built-in
/// model; a new model falls back to <see cref="ModelSettingsRules.Default"/> for the settings it leaves out.
/// </summary>
public sealed class ReplicateModelOptions
{
    /// <summary>The Replicate model, <c>owner/name</c>, for example <c>black-forest-labs/flux-schnell</c>.</summary>
    /// <value>The default value is null.</value>
    public string? Model { get; set; }

    /// <summary>
    /// A version id. When set, predictions are created with <c>POST /v1/predictions</c> and this version; otherwise
    /// with <c>POST /v1/models/{owner}/{name}/predictions</c> (official models).
    /// </summary>
    /// <value>The default value is null.</value>
    public string? Version { get; set; }

    /// <summary>A display name.</summary>
    /// <value>The default value is null.</value>
    public string? DisplayName { get; set; }

    /// <summary>What one job costs, in credits.</summary>
    /// <value>The default value is null.</value>
    [Range(0, long.MaxValue)]
    public long? CostCredits { get; set; }

    /// <summary>How long a generation usually takes.</summary>
    /// <value>The default value is null.</value>
    public TimeSpan? ExpectedDuration { get; set; }

    /// <summary>Whether width and height are accepted (sent as <c>width</c> and <c>height</c>).</summary>
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

    /// <summary>
    /// The value sent as <c>aspect_ratio</c> together with width and height, for models that take explicit
    /// dimensions only with a special ratio (FLUX 1.1 pro's <c>custom</c>).
    /// </summary>
    /// <value>The default value is null.</value>
    public string? DimensionsAspectRatio { get; set; }

    /// <summary>The aspect ratios accepted (sent as <c>aspect_ratio</c>); empty when the model takes none.</summary>
    /// <value>The default value is null.</value>
    public string[]? AspectRatios { get; set; }

    /// <summary>The most outputs one request may ask for; above 1, the count is sent as <c>num_outputs</c>.</summary>
    /// <value>The default value is null.</value>
    public int? MaxOutputs { get; set; }

    /// <summary>The output formats accepted; with more than one, the requested format is sent as <c>output_format</c>.</summary>
    /// <value>The default value is null.</value>
    public OutputFormat[]? OutputFormats { get; set; }

    /// <summary>Whether a seed is accepted (sent as <c>seed</c>).</summary>
    /// <value>The default value is null.</value>
    public bool? SupportsSeed { get; set; }

    /// <summary>Whether a negative prompt is accepted (sent as <c>negative_prompt</c>).</summary>
    /// <value>The default value is null.</value>
    public bool? SupportsNegativePrompt { get; set; }

    /// <summary>Model-specific parameters by MediaGen name (for example <c>guidance</c>, <c>steps</c>); merged by name with the built-in ones.</summary>
    /// <value>The default value is empty.</value>
    public IDictionary<string, ReplicateParameterOptions> Parameters { get; } = new Dictionary<string, ReplicateParameterOptions>(StringComparer.Ordinal);
}

/// <summary>A model-specific parameter: the rule it is validated with at submission and the Replicate input it is sent as.</summary>
public sealed class ReplicateParameterOptions
{
    /// <summary>The Replicate input name, for example <c>guidance_scale</c>; null sends it under its MediaGen name.</summary>
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
}
