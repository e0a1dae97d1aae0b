using System.ComponentModel.DataAnnotations;
using MediaGen.Generators.Http;
using MediaGen.Generators.Replicate.Internal;
using MediaGen.Shared;

namespace MediaGen;

/// <summary>Options for the Replicate generator (configuration section <c>MediaGen:Generators:Replicate</c>).</summary>
/// <remarks>The base URL defaults to <c>https://api.replicate.com/</c> and one API call's timeout to 30 seconds (a create with <see cref="PreferWaitSeconds"/> gets that much more; output downloads are not limited by it).</remarks>
public sealed class ReplicateGeneratorOptions : HttpGeneratorOptions<ReplicateModelOptions>
{
    internal static readonly HttpGeneratorProfile ReplicateProfile = new()
    {
        DisplayName = "Replicate",
        ConfigurationSection = "MediaGen:Generators:Replicate",
        ApiTokenDescription = "a Replicate API token",
        BaseUrlExample = "https://api.replicate.com/",
        ModelReferenceDescription = "'owner/name' (for example 'black-forest-labs/flux-schnell')",
        DefaultExpectedDuration = TimeSpan.FromSeconds(10),
    };

    /// <summary>Initializes the options with Replicate's defaults.</summary>
    public ReplicateGeneratorOptions()
        : base(new Uri("https://api.replicate.com/"), TimeSpan.FromSeconds(30))
    {
    }

    /// <summary>
    /// When set, a create asks Replicate to hold the response for up to this many seconds (<c>Prefer: wait=N</c>)
    /// so fast models answer without a poll. Null creates without waiting.
    /// </summary>
    /// <value>The default value is null.</value>
    [Range(1, 60)]
    public int? PreferWaitSeconds { get; set; }

    /// <summary>The first delay between two polls of a running prediction.</summary>
    /// <value>The default value is 500 milliseconds.</value>
    [TimeSpanRange("00:00:00", "00:05:00")]
    public TimeSpan PollInitialInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest delay between two polls; the delay grows by <see cref="PollBackoffFactor"/> up to it.</summary>
    /// <value>The default value is 5 seconds.</value>
    [TimeSpanRange("00:00:00", "00:10:00")]
    public TimeSpan PollMaxInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How much the delay between polls grows after each poll.</summary>
    /// <value>The default value is 1.5.</value>
    [Range(1.0, 10.0)]
    public double PollBackoffFactor { get; set; } = 1.5;

    /// <summary>The timeout of the cancel call sent when a job is aborted; it does not use the job's (already canceled) token.</summary>
    /// <value>The default value is 10 seconds.</value>
    [TimeSpanRange("00:00:00.001", "00:05:00")]
    public TimeSpan CancelTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// What happens when a create's outcome is unknown (a timeout, a dropped connection or a 5xx after the request was
    /// sent, or a worker that died during the call) and the look-up of recent predictions finds none created with this
    /// job's input: <see cref="ReplicateRecreatePolicy.CreateNew"/> creates it again (should Replicate have created the
    /// first one without listing it yet, both are paid for); <see cref="ReplicateRecreatePolicy.Fail"/> fails the job
    /// with <see cref="MediaGenErrorCodes.OutcomeUnknown"/> and refunds it (a prediction Replicate did create is paid for
    /// and unused, and stops at the job's deadline through <c>Cancel-After</c>).
    /// </summary>
    /// <value>The default value is <see cref="ReplicateRecreatePolicy.CreateNew"/>.</value>
    public ReplicateRecreatePolicy UnconfirmedCreate { get; set; } = ReplicateRecreatePolicy.CreateNew;

    /// <summary>
    /// How long to wait after a create whose outcome is unknown before looking for the prediction, so one Replicate was
    /// still creating when the call failed shows in the listing.
    /// </summary>
    /// <value>The default value is 5 seconds.</value>
    [TimeSpanRange("00:00:00", "00:05:00")]
    public TimeSpan UnconfirmedCreateLookupDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// What happens when an attempt resumes a prediction whose outputs Replicate has deleted (<c>data_removed</c>, or
    /// completed more than <see cref="OutputRetention"/> ago) before MediaGen stored them:
    /// <see cref="ReplicateRecreatePolicy.Fail"/> fails the job with <see cref="MediaGenErrorCodes.ProviderOutputExpired"/>
    /// and refunds it; <see cref="ReplicateRecreatePolicy.CreateNew"/> creates a new prediction, paid for a second time.
    /// </summary>
    /// <value>The default value is <see cref="ReplicateRecreatePolicy.Fail"/>.</value>
    public ReplicateRecreatePolicy ExpiredPrediction { get; set; } = ReplicateRecreatePolicy.Fail;

    /// <summary>How long Replicate keeps a prediction's outputs after it completes (an hour for predictions created through the API).</summary>
    /// <value>The default value is 1 hour.</value>
    [TimeSpanRange("00:01:00", "30.00:00:00")]
    public TimeSpan OutputRetention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Whether the host checks the catalog against each model's live schema when it starts
    /// (<see cref="ReplicateCatalogVerifier"/>): not at all, logging what differs, or refusing to start.
    /// </summary>
    /// <value>The default value is <see cref="CatalogVerification.Off"/>.</value>
    public CatalogVerification VerifyCatalog { get; set; } = CatalogVerification.Off;

    /// <inheritdoc />
    protected override HttpGeneratorProfile Profile => ReplicateProfile;

    /// <inheritdoc />
    protected override Dictionary<string, ReplicateModelOptions> CreateBuiltInModels() => ReplicateModelCatalog.BuiltIn();
}

/// <summary>What the Replicate generator does when the prediction a job paid for cannot be used, or may not exist.</summary>
public enum ReplicateRecreatePolicy
{
    /// <summary>Fail the job (refunded) rather than pay for a second prediction.</summary>
    Fail,

    /// <summary>Create a new prediction, at the risk of paying twice.</summary>
    CreateNew,
}

/// <summary>
/// One model of the Replicate catalog: the shared model options plus what only Replicate takes. Every value is
/// optional so configuration can change one value of a built-in model.
/// </summary>
public sealed class ReplicateModelOptions : GeneratorModelOptions
{
    /// <summary>
    /// A version id. When set, predictions are created with <c>POST /v1/predictions</c> and this version; otherwise
    /// with <c>POST /v1/models/{owner}/{name}/predictions</c> (official models).
    /// </summary>
    /// <value>The default value is null.</value>
    public string? Version { get; set; }

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

    /// <inheritdoc />
    protected override void FillUnsetFrom(GeneratorModelOptions source)
    {
        base.FillUnsetFrom(source);
        if (source is ReplicateModelOptions replicate)
        {
            Version ??= replicate.Version;
            DimensionsAspectRatio ??= replicate.DimensionsAspectRatio;
            AspectRatios ??= replicate.AspectRatios;
            MaxOutputs ??= replicate.MaxOutputs;
        }
    }

    /// <inheritdoc />
    protected override ModelSettingsRules ToSettings(ModelSettingsRules settings) =>
        settings with { AspectRatios = AspectRatios ?? [], MaxOutputs = MaxOutputs ?? 1 };

    /// <inheritdoc />
    protected override string? Validate(ModelSettingsRules settings, string path) =>
        settings.MaxOutputs < 1 ? $"{path}:MaxOutputs must be at least 1." : null;
}
