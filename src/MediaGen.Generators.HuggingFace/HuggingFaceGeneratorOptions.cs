using System.ComponentModel.DataAnnotations;
using MediaGen.Generators.HuggingFace.Internal;
using MediaGen.Generators.Http;

namespace MediaGen;

/// <summary>Options for the Hugging Face generator (configuration section <c>MediaGen:Generators:HuggingFace</c>).</summary>
/// <remarks>
/// The base URL defaults to <c>https://router.huggingface.co/hf-inference/</c> (a model is called at
/// <c>{BaseUrl}models/{repository}</c>; use <c>https://api-inference.huggingface.co/</c> for the older serverless
/// endpoint, or any compatible server), and one text-to-image call's timeout, which returns the image itself, to 2 minutes.
/// </remarks>
public sealed class HuggingFaceGeneratorOptions : HttpGeneratorOptions<HuggingFaceModelOptions>
{
    internal static readonly HttpGeneratorProfile HuggingFaceProfile = new()
    {
        DisplayName = "Hugging Face",
        ConfigurationSection = "MediaGen:Generators:HuggingFace",
        ApiTokenDescription = "a Hugging Face access token",
        BaseUrlExample = "https://router.huggingface.co/hf-inference/",
        ModelReferenceDescription = "a repository 'owner/name' (for example 'black-forest-labs/FLUX.1-dev')",
        DefaultExpectedDuration = TimeSpan.FromSeconds(20),
    };

    /// <summary>Initializes the options with Hugging Face's defaults.</summary>
    public HuggingFaceGeneratorOptions()
        : base(new Uri("https://router.huggingface.co/hf-inference/"), TimeSpan.FromMinutes(2))
    {
    }

    /// <summary>Whether to ask the API to hold the request while the model loads (<c>x-wait-for-model: true</c>) instead of answering 503.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool WaitForModel { get; set; }

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
}
