using System.ComponentModel.DataAnnotations;
using MediaGen.Generators.HuggingFace.Internal;
using MediaGen.Generators.Http;

namespace MediaGen;

/// <summary>Options for the Hugging Face generator (configuration section <c>MediaGen:Generators:HuggingFace</c>).</summary>
/// <remarks>
/// Calls go through Hugging Face's inference router, <c>https://router.huggingface.co/</c> by default: a model is called at
/// <c>{BaseUrl}{provider}/...</c>, where the provider (<see cref="Provider"/>, or the model's own) is one of the
/// inference providers the router names. One text-to-image call, which returns the image itself, times out after 2 minutes.
/// </remarks>
public sealed class HuggingFaceGeneratorOptions : HttpGeneratorOptions<HuggingFaceModelOptions>
{
    /// <summary>The inference providers the generator speaks to through the router, as the router names them.</summary>
    public static IReadOnlyList<string> Providers { get; } = [HfInference, "fal-ai", "together", "nebius", "nscale"];

    internal const string HfInference = "hf-inference";

    internal static readonly HttpGeneratorProfile HuggingFaceProfile = new()
    {
        DisplayName = "Hugging Face",
        ConfigurationSection = "MediaGen:Generators:HuggingFace",
        ApiTokenDescription = "a Hugging Face access token",
        BaseUrlExample = "https://router.huggingface.co/",
        ModelReferenceDescription = "a repository 'owner/name' (for example 'black-forest-labs/FLUX.1-dev')",
        DefaultExpectedDuration = TimeSpan.FromSeconds(20),
    };

    /// <summary>Initializes the options with Hugging Face's defaults.</summary>
    public HuggingFaceGeneratorOptions()
        : base(new Uri("https://router.huggingface.co/"), TimeSpan.FromMinutes(2))
    {
    }

    /// <summary>
    /// The inference provider of the models that do not name their own (<see cref="HuggingFaceModelOptions.Provider"/>):
    /// one of <see cref="Providers"/>. <c>hf-inference</c> is Hugging Face's own, which since mid-2025 serves mostly
    /// models that run on CPU; image models are served by the others.
    /// </summary>
    /// <value>The default value is <c>hf-inference</c>.</value>
    [Required]
    [AllowedValues("hf-inference", "fal-ai", "together", "nebius", "nscale")]
    public string Provider { get; set; } = HfInference;

    /// <summary>The largest image accepted, in bytes; the image is held in memory between the call and storage.</summary>
    /// <value>The default value is 64 MiB.</value>
    [Range(1, int.MaxValue)]
    public int MaxImageBytes { get; set; } = 64 * 1024 * 1024;

    /// <inheritdoc />
    protected override HttpGeneratorProfile Profile => HuggingFaceProfile;

    /// <inheritdoc />
    protected override Dictionary<string, HuggingFaceModelOptions> CreateBuiltInModels() => HuggingFaceModelCatalog.BuiltIn();
}

/// <summary>One model of the Hugging Face catalog; every value is optional so configuration can change one value of a built-in model.</summary>
public sealed class HuggingFaceModelOptions : GeneratorModelOptions
{
    /// <summary>
    /// The inference provider that serves this model through the router (one of
    /// <see cref="HuggingFaceGeneratorOptions.Providers"/>); null for <see cref="HuggingFaceGeneratorOptions.Provider"/>.
    /// </summary>
    /// <value>The default value is null.</value>
    public string? Provider { get; set; }

    /// <summary>
    /// The provider's own id of the model (for example <c>fal-ai/flux/dev</c> for FLUX.1-dev on fal-ai), as Hugging
    /// Face's model page lists it under the provider; null sends <see cref="GeneratorModelOptions.Model"/>. Not used by
    /// <c>hf-inference</c>, which takes the repository.
    /// </summary>
    /// <value>The default value is null.</value>
    public string? ProviderModel { get; set; }

    /// <inheritdoc />
    protected override void FillUnsetFrom(GeneratorModelOptions source)
    {
        base.FillUnsetFrom(source);
        if (source is HuggingFaceModelOptions huggingFace)
        {
            Provider ??= huggingFace.Provider;
            ProviderModel ??= huggingFace.ProviderModel;
        }
    }

    /// <inheritdoc />
    protected override string? Validate(ModelSettingsRules settings, string path) =>
        Provider is { } provider && !HuggingFaceGeneratorOptions.Providers.Contains(provider, StringComparer.Ordinal)
            ? $"{path}:Provider '{provider}' is not one of {string.Join(", ", HuggingFaceGeneratorOptions.Providers)}."
            : null;
}
