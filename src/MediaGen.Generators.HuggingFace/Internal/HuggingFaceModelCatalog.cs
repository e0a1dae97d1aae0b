using MediaGen.Generators.Http;

namespace MediaGen.Generators.HuggingFace.Internal;

/// <summary>The models the Hugging Face generator serves out of the box; configuration merges over them.</summary>
internal static class HuggingFaceModelCatalog
{
    public static Dictionary<string, HuggingFaceModelOptions> BuiltIn()
    {
        // Hugging Face's own hf-inference no longer serves FLUX.1-dev (it moved to CPU models in 2025); fal-ai does.
        var dev = new HuggingFaceModelOptions
        {
            Model = "black-forest-labs/FLUX.1-dev",
            Provider = "fal-ai",
            ProviderModel = "fal-ai/flux/dev",
            DisplayName = "FLUX.1 [dev] on Hugging Face (fal-ai)",
            CostCredits = 8,
            ExpectedDuration = TimeSpan.FromSeconds(20),
            SupportsDimensions = true,
            MinDimension = 256,
            MaxDimension = 2048,
            DimensionMultiple = 16,
            OutputFormats = [OutputFormat.Jpeg, OutputFormat.Png],
            SupportsSeed = true,
            SupportsNegativePrompt = false,
        };
        dev.Parameters["guidance"] = new GeneratorParameterOptions { Input = "guidance_scale", Kind = ModelParameterKind.Number, Minimum = 0, Maximum = 20 };
        dev.Parameters["steps"] = new GeneratorParameterOptions { Input = "num_inference_steps", Kind = ModelParameterKind.Integer, Minimum = 1, Maximum = 50 };
        return new Dictionary<string, HuggingFaceModelOptions>(StringComparer.Ordinal) { ["hf-flux-1-dev"] = dev };
    }

    public static IReadOnlyDictionary<string, ProviderModel<HuggingFaceModelOptions>> Build(HuggingFaceGeneratorOptions options, out IReadOnlyList<string> errors) =>
        ProviderModelCatalog.Build(options, out errors);
}
