using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.AI;
using MediaGen.Shared;

namespace MediaGen;

/// <summary>
/// Options for one Microsoft.Extensions.AI <c>IImageGenerator</c> served as MediaGen models. They are named options:
/// the name is the one given to <c>AddImageGenerator</c>, which is also the generator's <see cref="IMediaGenerator.Name"/>
/// and the key its 429 pause is kept under.
/// </summary>
/// <remarks>
/// An image call answers with the images, so there is no handle to resume after a crash, a timeout or a lost connection:
/// the provider may have generated (and charged for) the images or not. Such a job fails with
/// <see cref="MediaGenErrorCodes.OutcomeUnknown"/> rather than calling again, unless <see cref="IsIdempotent"/> says a
/// second call cannot be paid twice. Failures that prove nothing was generated (429, a refused connection, a 5xx answer
/// other than a gateway timeout) are retried as usual.
/// </remarks>
public sealed class ExtensionsAIGeneratorOptions
{
    /// <summary>The models this generator serves, by MediaGen model id; at least one is required.</summary>
    /// <value>The default value is empty, which fails validation at start-up.</value>
    public IDictionary<string, ExtensionsAIModelOptions> Models { get; } = new Dictionary<string, ExtensionsAIModelOptions>(StringComparer.Ordinal);

    /// <summary>
    /// Whether calling the generator again after a call whose outcome is unknown cannot pay twice: a free or local model,
    /// or a service that deduplicates requests. Then such a call is retried like any transient failure.
    /// </summary>
    /// <value>The default value is <see langword="false"/>: a job whose call may have been paid fails as <c>outcome_unknown</c>.</value>
    public bool IsIdempotent { get; set; }

    /// <summary>Whether a job that fails as <c>outcome_unknown</c> gets its credits back.</summary>
    /// <value>
    /// The default value is <see langword="true"/>: the owner is not charged for images nobody received, and the operator
    /// bears the provider's charge, if there was one.
    /// </value>
    public bool RefundUnknownOutcome { get; set; } = true;

    /// <summary>How long the provider is paused after a 429 that carries no Retry-After.</summary>
    /// <value>The default value is 10 seconds.</value>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan DefaultRateLimitPause { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the download of an image the generator returned as a URL may take to start answering.</summary>
    /// <value>The default value is 1 minute.</value>
    [TimeSpanRange("00:00:00.001", "00:30:00")]
    public TimeSpan DownloadTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Hosts the generator's image URLs may name even though they are (or resolve to) a loopback, private, link-local or
    /// other non-public address: a self-hosted model on a private network, or a test server on 127.0.0.1. Every other
    /// image URL must name a public host and is downloaded without redirects or a proxy, connecting only to the
    /// addresses checked; a refused URL fails that image permanently (refunded).
    /// </summary>
    /// <value>The default value is empty.</value>
    public IList<string> AllowedNonPublicOutputHosts { get; } = [];

    /// <summary>
    /// Changes the options MediaGen built for one call, before it is made: for what only one provider takes, such as
    /// <see cref="ImageGenerationOptions.RawRepresentationFactory"/> returning the OpenAI client's own options with a
    /// quality. Not bound from configuration.
    /// </summary>
    /// <value>The default value is null.</value>
    public Action<GenerationContext, ImageGenerationOptions>? ConfigureRequest { get; set; }

    /// <summary>
    /// Classifies a failure of the generator the built-in rules do not know (they read the status of the OpenAI and Azure
    /// clients' <c>ClientResultException</c> and of <see cref="HttpRequestException"/>). Return a transient
    /// <see cref="GenerationException"/> only for a failure that proves nothing was generated, since the job is then called
    /// again; a permanent one fails the job; null leaves the failure to the built-in rules, which treat what they do not
    /// recognise as an unknown outcome. Not bound from configuration.
    /// </summary>
    /// <value>The default value is null.</value>
    public Func<Exception, GenerationException?>? ClassifyFailure { get; set; }
}

/// <summary>One MediaGen model served by a Microsoft.Extensions.AI image generator.</summary>
public sealed class ExtensionsAIModelOptions
{
    /// <summary>The provider's model id, sent as <see cref="ImageGenerationOptions.ModelId"/>; null leaves the generator's own.</summary>
    /// <value>The default value is null.</value>
    public string? ProviderModel { get; set; }

    /// <summary>A display name.</summary>
    /// <value>The default value is null.</value>
    public string? DisplayName { get; set; }

    /// <summary>What one image costs, in credits; a job is charged this per image it asks for. Required.</summary>
    /// <value>The default value is null, which fails validation at start-up.</value>
    [Range(0, long.MaxValue)]
    public long? CostCredits { get; set; }

    /// <summary>How long a generation usually takes.</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan ExpectedDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The most images one request may ask for, sent as <see cref="ImageGenerationOptions.Count"/>.</summary>
    /// <value>The default value is 1.</value>
    [Range(1, 100)]
    public int MaxOutputs { get; set; } = 1;

    /// <summary>
    /// The fixed sizes the model makes, such as <c>1024x1024</c> or <c>1536x1024</c>: each is offered as the aspect ratio it
    /// reduces to (<c>1:1</c>, <c>3:2</c>) and sent as <see cref="ImageGenerationOptions.ImageSize"/>. Two sizes of one
    /// aspect ratio need two models (which may be priced apart). Null or empty offers no aspect ratio.
    /// </summary>
    /// <value>The default value is null.</value>
    public string[]? Sizes { get; set; }

    /// <summary>Whether any width and height within <see cref="MinDimension"/> to <see cref="MaxDimension"/> is accepted.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool SupportsDimensions { get; set; }

    /// <summary>The smallest width or height, when <see cref="SupportsDimensions"/>.</summary>
    /// <value>The default value is 64.</value>
    [Range(1, 100_000)]
    public int MinDimension { get; set; } = 64;

    /// <summary>The largest width or height, when <see cref="SupportsDimensions"/>.</summary>
    /// <value>The default value is 2048.</value>
    [Range(1, 100_000)]
    public int MaxDimension { get; set; } = 2048;

    /// <summary>Width and height must be multiples of this, when <see cref="SupportsDimensions"/>.</summary>
    /// <value>The default value is 8.</value>
    [Range(1, 10_000)]
    public int DimensionMultiple { get; set; } = 8;

    /// <summary>The output formats accepted, sent as <see cref="ImageGenerationOptions.MediaType"/>; null or empty accepts PNG only.</summary>
    /// <value>The default value is null.</value>
    public OutputFormat[]? OutputFormats { get; set; }

    /// <summary>Whether a seed is accepted; it is sent as the additional property <c>seed</c>.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool SupportsSeed { get; set; }

    /// <summary>Whether a negative prompt is accepted; it is sent as the additional property <c>negative_prompt</c>.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool SupportsNegativePrompt { get; set; }

    /// <summary>How the images should come back (<see cref="ImageGenerationOptions.ResponseFormat"/>); null leaves it to the generator.</summary>
    /// <value>The default value is null.</value>
    public ImageGenerationResponseFormat? ResponseFormat { get; set; }

    /// <summary>
    /// Model-specific parameters by MediaGen name, each checked at submission and sent as an additional property named
    /// <see cref="GeneratorParameterOptions.Input"/> (or the MediaGen name).
    /// </summary>
    /// <value>The default value is empty.</value>
    public IDictionary<string, GeneratorParameterOptions> Parameters { get; } = new Dictionary<string, GeneratorParameterOptions>(StringComparer.Ordinal);
}
