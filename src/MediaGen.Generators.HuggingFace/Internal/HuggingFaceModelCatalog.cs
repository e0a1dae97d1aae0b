namespace MediaGen.Generators.HuggingFace.Internal;

/// <summary>A catalog entry resolved from the built-in catalog and configuration.</summary>
/// <param name="Descriptor">What MediaGen validates and charges by.</param>
/// <param name="Repository">The model repository, <c>owner/name</c>.</param>
/// <param name="ParameterInputs">MediaGen parameter name to inference parameter name.</param>
internal sealed record HuggingFaceModel(ModelDescriptor Descriptor, string Repository, IReadOnlyDictionary<string, string> ParameterInputs)
{
    public string Id => Descriptor.Id;
}

/// <summary>The models the Hugging Face generator serves: the built-in catalog merged with configuration.</summary>
internal static class HuggingFaceModelCatalog
{
    public static Dictionary<string, HuggingFaceModelOptions> BuiltIn()
    {
        var dev = new HuggingFaceModelOptions
        {
            Model = "black-forest-labs/FLUX.1-dev",
            DisplayName = "FLUX.1 [dev] on Hugging Face",
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
        dev.Parameters["guidance"] = new HuggingFaceParameterOptions { Input = "guidance_scale", Kind = ModelParameterKind.Number, Minimum = 0, Maximum = 20 };
        dev.Parameters["steps"] = new HuggingFaceParameterOptions { Input = "num_inference_steps", Kind = ModelParameterKind.Integer, Minimum = 1, Maximum = 50 };
        return new Dictionary<string, HuggingFaceModelOptions>(StringComparer.Ordinal) { ["hf-flux-1-dev"] = dev };
    }

    public static IReadOnlyDictionary<string, HuggingFaceModel> Build(HuggingFaceGeneratorOptions options, out IReadOnlyList<string> errors)
    {
        var problems = new List<string>();
        var merged = options.IncludeBuiltInModels ? BuiltIn() : new Dictionary<string, HuggingFaceModelOptions>(StringComparer.Ordinal);
        foreach (var (id, configured) in options.Models)
        {
            merged[id] = merged.TryGetValue(id, out var builtIn) ? Merge(builtIn, configured) : configured;
        }

        var models = new Dictionary<string, HuggingFaceModel>(StringComparer.Ordinal);
        foreach (var (id, model) in merged)
        {
            var prefix = $"MediaGen:Generators:HuggingFace:Models:{id}";
            if (string.IsNullOrWhiteSpace(id))
            {
                problems.Add("A Hugging Face model has an empty id.");
                continue;
            }

            if (model.Model?.Split('/') is not [{ Length: > 0 }, { Length: > 0 }])
            {
                problems.Add($"{prefix}:Model must be a repository 'owner/name' (for example 'black-forest-labs/FLUX.1-dev').");
                continue;
            }

            if (model.CostCredits is not { } cost || cost < 0)
            {
                problems.Add($"{prefix}:CostCredits must be set to zero or more.");
                continue;
            }

            var defaults = ModelSettingsRules.Default;
            var settings = new ModelSettingsRules
            {
                SupportsDimensions = model.SupportsDimensions ?? defaults.SupportsDimensions,
                MinDimension = model.MinDimension ?? defaults.MinDimension,
                MaxDimension = model.MaxDimension ?? defaults.MaxDimension,
                DimensionMultiple = model.DimensionMultiple ?? defaults.DimensionMultiple,
                AspectRatios = [],
                MaxOutputs = 1,
                OutputFormats = model.OutputFormats is { Length: > 0 } formats ? formats.Distinct().ToArray() : defaults.OutputFormats,
                SupportsSeed = model.SupportsSeed ?? defaults.SupportsSeed,
                SupportsNegativePrompt = model.SupportsNegativePrompt ?? false,
                Parameters = model.Parameters.ToDictionary(
                    p => p.Key,
                    p => new ModelParameterRule { Kind = p.Value.Kind ?? ModelParameterKind.Number, Minimum = p.Value.Minimum, Maximum = p.Value.Maximum, AllowedValues = p.Value.AllowedValues },
                    StringComparer.Ordinal),
            };
            if (settings.MinDimension < 1 || settings.MaxDimension < settings.MinDimension || settings.DimensionMultiple < 1)
            {
                problems.Add($"{prefix}: MinDimension, MaxDimension and DimensionMultiple must be positive, with MinDimension <= MaxDimension.");
                continue;
            }

            models[id] = new HuggingFaceModel(
                new ModelDescriptor
                {
                    Id = id,
                    DisplayName = model.DisplayName,
                    CostCredits = cost,
                    ExpectedDuration = model.ExpectedDuration ?? TimeSpan.FromSeconds(20),
                    Settings = settings,
                },
                model.Model,
                model.Parameters.ToDictionary(p => p.Key, p => string.IsNullOrWhiteSpace(p.Value.Input) ? p.Key : p.Value.Input, StringComparer.Ordinal));
        }

        errors = problems;
        return models;
    }

    private static HuggingFaceModelOptions Merge(HuggingFaceModelOptions builtIn, HuggingFaceModelOptions configured)
    {
        var result = new HuggingFaceModelOptions
        {
            Model = configured.Model ?? builtIn.Model,
            DisplayName = configured.DisplayName ?? builtIn.DisplayName,
            CostCredits = configured.CostCredits ?? builtIn.CostCredits,
            ExpectedDuration = configured.ExpectedDuration ?? builtIn.ExpectedDuration,
            SupportsDimensions = configured.SupportsDimensions ?? builtIn.SupportsDimensions,
            MinDimension = configured.MinDimension ?? builtIn.MinDimension,
            MaxDimension = configured.MaxDimension ?? builtIn.MaxDimension,
            DimensionMultiple = configured.DimensionMultiple ?? builtIn.DimensionMultiple,
            OutputFormats = configured.OutputFormats ?? builtIn.OutputFormats,
            SupportsSeed = configured.SupportsSeed ?? builtIn.SupportsSeed,
            SupportsNegativePrompt = configured.SupportsNegativePrompt ?? builtIn.SupportsNegativePrompt,
        };
        foreach (var (name, parameter) in builtIn.Parameters)
        {
            result.Parameters[name] = parameter;
        }

        foreach (var (name, parameter) in configured.Parameters)
        {
            result.Parameters[name] = result.Parameters.TryGetValue(name, out var existing)
                ? new HuggingFaceParameterOptions
                {
                    Input = parameter.Input ?? existing.Input,
                    Kind = parameter.Kind ?? existing.Kind,
                    Minimum = parameter.Minimum ?? existing.Minimum,
                    Maximum = parameter.Maximum ?? existing.Maximum,
                    AllowedValues = parameter.AllowedValues ?? existing.AllowedValues,
                }
                : parameter;
        }

        return result;
    }
}
