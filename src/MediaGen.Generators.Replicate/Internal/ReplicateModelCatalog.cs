using MediaGen.Generators.Http;

namespace MediaGen.Generators.Replicate.Internal;

/// <summary>A catalog entry resolved from the built-in catalog and configuration.</summary>
/// <param name="Descriptor">What MediaGen validates and charges by.</param>
/// <param name="Owner">The Replicate model's owner.</param>
/// <param name="Name">The Replicate model's name.</param>
/// <param name="Version">The version id, or null to create through the model's endpoint.</param>
/// <param name="DimensionsAspectRatio">The aspect ratio sent with explicit width and height, if the model needs one.</param>
/// <param name="ParameterInputs">MediaGen parameter name to Replicate input name.</param>
internal sealed record ReplicateModel(
    ModelDescriptor Descriptor,
    string Owner,
    string Name,
    string? Version,
    string? DimensionsAspectRatio,
    IReadOnlyDictionary<string, string> ParameterInputs)
{
    public string Id => Descriptor.Id;

    public string Reference => Version is null ? $"{Owner}/{Name}" : $"{Owner}/{Name}:{Version}";

    public static ReplicateModel From(ProviderModel<ReplicateModelOptions> model) => new(
        model.Descriptor,
        model.Owner,
        model.Name,
        string.IsNullOrWhiteSpace(model.Options.Version) ? null : model.Options.Version,
        model.Options.DimensionsAspectRatio,
        model.ParameterInputs);
}

/// <summary>The models the Replicate generator serves: the built-in catalog merged with configuration.</summary>
internal static class ReplicateModelCatalog
{
    private static readonly string[] FluxAspectRatios = ["1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"];
    private static readonly string[] FluxProAspectRatios = ["1:1", "16:9", "3:2", "2:3", "4:5", "5:4", "9:16", "3:4", "4:3"];
    private static readonly string[] Sd3AspectRatios = ["1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "9:16", "9:21"];
    private static readonly OutputFormat[] AllFormats = [OutputFormat.Webp, OutputFormat.Jpeg, OutputFormat.Png];

    /// <summary>The built-in catalog, as options so configuration merges over it value by value.</summary>
    /// <returns>Model id to its options; a new dictionary on every call.</returns>
    public static Dictionary<string, ReplicateModelOptions> BuiltIn()
    {
        var schnell = FluxOne("black-forest-labs/flux-schnell", "FLUX.1 [schnell]", cost: 1, seconds: 3, maxSteps: 4);
        var dev = FluxOne("black-forest-labs/flux-dev", "FLUX.1 [dev]", cost: 8, seconds: 12, maxSteps: 50);
        Add(dev, "guidance", new() { Input = "guidance", Kind = ModelParameterKind.Number, Minimum = 0, Maximum = 10 });

        var pro = new ReplicateModelOptions
        {
            Model = "black-forest-labs/flux-1.1-pro",
            DisplayName = "FLUX1.1 [pro]",
            CostCredits = 12,
            ExpectedDuration = TimeSpan.FromSeconds(10),
            SupportsDimensions = true,
            MinDimension = 256,
            MaxDimension = 1440,
            DimensionMultiple = 32,
            DimensionsAspectRatio = "custom",
            AspectRatios = FluxProAspectRatios,
            MaxOutputs = 1,
            OutputFormats = AllFormats,
            SupportsSeed = true,
            SupportsNegativePrompt = false,
        };
        Add(pro, "safety_tolerance", new() { Kind = ModelParameterKind.Integer, Minimum = 1, Maximum = 6 });
        Add(pro, "prompt_upsampling", new() { Kind = ModelParameterKind.Boolean });
        Add(pro, "output_quality", new() { Kind = ModelParameterKind.Integer, Minimum = 0, Maximum = 100 });

        var sdxl = new ReplicateModelOptions
        {
            Model = "stability-ai/sdxl",
            Version = "7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc",
            DisplayName = "Stable Diffusion XL",
            CostCredits = 3,
            ExpectedDuration = TimeSpan.FromSeconds(15),
            SupportsDimensions = true,
            MinDimension = 128,
            MaxDimension = 2048,
            DimensionMultiple = 8,
            AspectRatios = [],
            MaxOutputs = 4,
            OutputFormats = [OutputFormat.Png],
            SupportsSeed = true,
            SupportsNegativePrompt = true,
        };
        Add(sdxl, "guidance", new() { Input = "guidance_scale", Kind = ModelParameterKind.Number, Minimum = 1, Maximum = 50 });
        Add(sdxl, "steps", new() { Input = "num_inference_steps", Kind = ModelParameterKind.Integer, Minimum = 1, Maximum = 500 });
        Add(sdxl, "scheduler", new() { Kind = ModelParameterKind.String, AllowedValues = ["DDIM", "DPMSolverMultistep", "HeunDiscrete", "KarrasDPM", "K_EULER_ANCESTRAL", "K_EULER", "PNDM"] });
        Add(sdxl, "refine", new() { Kind = ModelParameterKind.String, AllowedValues = ["no_refiner", "expert_ensemble_refiner", "base_image_refiner"] });
        Add(sdxl, "apply_watermark", new() { Kind = ModelParameterKind.Boolean });

        var sd3 = new ReplicateModelOptions
        {
            Model = "stability-ai/stable-diffusion-3",
            DisplayName = "Stable Diffusion 3",
            CostCredits = 6,
            ExpectedDuration = TimeSpan.FromSeconds(8),
            SupportsDimensions = false,
            AspectRatios = Sd3AspectRatios,
            MaxOutputs = 1,
            OutputFormats = AllFormats,
            SupportsSeed = true,
            SupportsNegativePrompt = true,
        };
        Add(sd3, "guidance", new() { Input = "cfg", Kind = ModelParameterKind.Number, Minimum = 0, Maximum = 20 });
        Add(sd3, "steps", new() { Input = "steps", Kind = ModelParameterKind.Integer, Minimum = 1, Maximum = 28 });
        Add(sd3, "output_quality", new() { Kind = ModelParameterKind.Integer, Minimum = 0, Maximum = 100 });

        return new Dictionary<string, ReplicateModelOptions>(StringComparer.Ordinal)
        {
            ["flux-schnell"] = schnell,
            ["flux-dev"] = dev,
            ["flux-1.1-pro"] = pro,
            ["sdxl"] = sdxl,
            ["sd3"] = sd3,
        };

        static void Add(ReplicateModelOptions model, string name, GeneratorParameterOptions parameter) => model.Parameters[name] = parameter;
    }

    /// <summary>A FLUX.1 model (schnell, dev): aspect ratios, up to 4 outputs, every format, and the inputs they share.</summary>
    private static ReplicateModelOptions FluxOne(string model, string displayName, long cost, int seconds, int maxSteps)
    {
        var flux = new ReplicateModelOptions
        {
            Model = model,
            DisplayName = displayName,
            CostCredits = cost,
            ExpectedDuration = TimeSpan.FromSeconds(seconds),
            SupportsDimensions = false,
            AspectRatios = FluxAspectRatios,
            MaxOutputs = 4,
            OutputFormats = AllFormats,
            SupportsSeed = true,
            SupportsNegativePrompt = false,
        };
        flux.Parameters["steps"] = new() { Input = "num_inference_steps", Kind = ModelParameterKind.Integer, Minimum = 1, Maximum = maxSteps };
        flux.Parameters["output_quality"] = new() { Kind = ModelParameterKind.Integer, Minimum = 0, Maximum = 100 };
        flux.Parameters["go_fast"] = new() { Kind = ModelParameterKind.Boolean };
        flux.Parameters["megapixels"] = new() { Kind = ModelParameterKind.String, AllowedValues = ["1", "0.25"] };
        flux.Parameters["disable_safety_checker"] = new() { Kind = ModelParameterKind.Boolean };
        return flux;
    }

    /// <summary>Builds the catalog from <paramref name="options"/>.</summary>
    /// <param name="options">The options.</param>
    /// <param name="errors">What is wrong with the configured models, if anything.</param>
    /// <returns>The models, by id.</returns>
    public static IReadOnlyDictionary<string, ReplicateModel> Build(ReplicateGeneratorOptions options, out IReadOnlyList<string> errors) =>
        ProviderModelCatalog.Build(options, out errors).ToDictionary(p => p.Key, p => ReplicateModel.From(p.Value), StringComparer.Ordinal);
}
