using System.ComponentModel.DataAnnotations;

namespace MediaGen;

/// <summary>Options for the Hugging Face generator (configuration section <c>MediaGen:Generators:HuggingFace</c>).</summary>
public sealed class HuggingFaceGeneratorOptions
{
    /// <summary>
    /// The inference API's base URL; a model is called at <c>{BaseUrl}models/{repository}</c>. Use
    /// <c>https://api-inference.huggingface.co/</c> for the older serverless endpoint, or any compatible server.
    /// </summary>
    /// <value>The default value is <c>https://router.huggingface.co/hf-inference/</c>.</value>
    [Required]
    public Uri BaseUrl { get; set; } = new("https://router.huggingface.co/hf-inference/");

    /// <summary>The access token, sent as a bearer token. Required; never logged.</summary>
    /// <value>The default value is empty, which fails validation at start-up.</value>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Set MediaGen:Generators:HuggingFace:ApiToken to a Hugging Face access token.")]
    public string ApiToken { get; set; } = string.Empty;

    /// <summary>Whether to ask the API to hold the request while the model loads (<c>x-wait-for-model: true</c>) instead of answering 503.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool WaitForModel { get; set; }

    /// <summary>
    /// How many times a call is retried within an attempt after a 429, a 503 while the model loads, another 5xx or a
    /// network error, before the attempt fails with a transient error for the worker to retry later.
    /// </summary>
    /// <value>The default value is 3.</value>
    [Range(0, 100)]
    public int MaxRequestRetries { get; set; } = 3;

    /// <summary>The first delay before retrying a call that failed without a Retry-After or load estimate; it doubles on each retry.</summary>
    /// <value>The default value is 1 second.</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest wait within an attempt: a Retry-After or load estimate longer than this fails the attempt at once
    /// (transient, carrying the wait) instead of holding a worker slot.
    /// </summary>
    /// <value>The default value is 30 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxRetryWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the provider is paused after a 429 that carries no Retry-After.</summary>
    /// <value>The default value is 10 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan DefaultRateLimitPause { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The timeout of one text-to-image call, which returns the image itself.</summary>
    /// <value>The default value is 2 minutes.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:30:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The largest image accepted, in bytes; the image is held in memory between the call and storage.</summary>
    /// <value>The default value is 64 MiB.</value>
    [Range(1, int.MaxValue)]
    public int MaxImageBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>Whether the built-in catalog (<c>hf-flux-1-dev</c>) is served.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool IncludeBuiltInModels { get; set; } = true;

    /// <summary>
    /// Models to add, or changes to built-in ones, by MediaGen model id. For a built-in id only the values set here
    /// replace the built-in ones; a new id needs at least <see cref="HuggingFaceModelOptions.Model"/> and
    /// <see cref="HuggingFaceModelOptions.CostCredits"/>.
    /// </summary>
    /// <value>The default value is empty.</value>
    public IDictionary<string, HuggingFaceModelOptions> Models { get; } = new Dictionary<string, HuggingFaceModelOptions>(StringComparer.Ordinal);
}

/// <summary>One model of the Hugging Face catalog; every value is optional so configuration can change one value of a built-in model.</summary>
public sealed class HuggingFaceModelOptions
{
    /// <summary>The model repository, for example <c>black-forest-labs/FLUX.1-dev</c>.</summary>
    /// <value>The default value is null.</value>
    public string? Model { get; set; }

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

    /// <summary>The output formats accepted (asked for with the Accept header).</summary>
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
    public IDictionary<string, HuggingFaceParameterOptions> Parameters { get; } = new Dictionary<string, HuggingFaceParameterOptions>(StringComparer.Ordinal);
}

/// <summary>A model-specific parameter: its validation rule and the inference parameter it is sent as.</summary>
public sealed class HuggingFaceParameterOptions
{
    /// <summary>The inference parameter name, for example <c>guidance_scale</c>; null sends it under its MediaGen name.</summary>
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
