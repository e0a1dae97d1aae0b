namespace MediaGen.Generators.Http;

/// <summary>A model a provider generator serves, resolved from its built-in catalog and configuration.</summary>
/// <typeparam name="TModel">The provider's model options.</typeparam>
/// <param name="Descriptor">What MediaGen validates and charges by.</param>
/// <param name="Options">The model's merged options, for what only the provider sends (a version, say).</param>
/// <param name="Owner">The owner part of <see cref="GeneratorModelOptions.Model"/>.</param>
/// <param name="Name">The name part of <see cref="GeneratorModelOptions.Model"/>.</param>
/// <param name="ParameterInputs">MediaGen parameter name to the provider's input name.</param>
public sealed record ProviderModel<TModel>(
    ModelDescriptor Descriptor,
    TModel Options,
    string Owner,
    string Name,
    IReadOnlyDictionary<string, string> ParameterInputs)
    where TModel : GeneratorModelOptions
{
    /// <summary>The MediaGen model id.</summary>
    public string Id => Descriptor.Id;

    /// <summary>The provider's model, <c>owner/name</c>.</summary>
    public string Repository => $"{Owner}/{Name}";
}

/// <summary>Builds a provider's models: its built-in catalog merged value by value with configuration, then checked.</summary>
public static class ProviderModelCatalog
{
    /// <summary>Builds the catalog <paramref name="options"/> describe.</summary>
    /// <typeparam name="TModel">The provider's model options.</typeparam>
    /// <param name="options">The options.</param>
    /// <param name="errors">What is wrong with the configured models, if anything, naming each configuration key.</param>
    /// <returns>The valid models, by id.</returns>
    public static IReadOnlyDictionary<string, ProviderModel<TModel>> Build<TModel>(HttpGeneratorOptions<TModel> options, out IReadOnlyList<string> errors)
        where TModel : GeneratorModelOptions, new()
    {
        ArgumentNullException.ThrowIfNull(options);
        var profile = options.Profile;
        var problems = new List<string>();
        var merged = options.IncludeBuiltInModels ? options.CreateBuiltInModels() : new Dictionary<string, TModel>(StringComparer.Ordinal);
        foreach (var (id, configured) in options.Models)
        {
            if (merged.TryGetValue(id, out var builtIn))
            {
                var model = new TModel();
                model.FillUnsetFrom(configured);
                model.FillUnsetFrom(builtIn);
                merged[id] = model;
            }
            else
            {
                merged[id] = configured;
            }
        }

        var models = new Dictionary<string, ProviderModel<TModel>>(StringComparer.Ordinal);
        foreach (var (id, model) in merged)
        {
            var path = $"{profile.ConfigurationSection}:Models:{id}";
            if (string.IsNullOrWhiteSpace(id))
            {
                problems.Add($"A {profile.DisplayName} model has an empty id.");
                continue;
            }

            if (model.Model?.Split('/') is not [{ Length: > 0 } owner, { Length: > 0 } name])
            {
                problems.Add($"{path}:Model must be {profile.ModelReferenceDescription}.");
                continue;
            }

            if (model.CostCredits is not { } cost || cost < 0)
            {
                problems.Add($"{path}:CostCredits must be set to zero or more.");
                continue;
            }

            var settings = model.ToSettings(SharedSettings(model));
            if (settings.MinDimension < 1 || settings.MaxDimension < settings.MinDimension || settings.DimensionMultiple < 1)
            {
                problems.Add($"{path}: MinDimension, MaxDimension and DimensionMultiple must be positive, with MinDimension <= MaxDimension.");
                continue;
            }

            if (model.Validate(settings, path) is { } problem)
            {
                problems.Add(problem);
                continue;
            }

            var descriptor = new ModelDescriptor
            {
                Id = id,
                DisplayName = model.DisplayName,
                CostCredits = cost,
                ExpectedDuration = model.ExpectedDuration ?? profile.DefaultExpectedDuration,
                Settings = settings,
            };
            var inputs = model.Parameters.ToDictionary(p => p.Key, p => string.IsNullOrWhiteSpace(p.Value.Input) ? p.Key : p.Value.Input, StringComparer.Ordinal);
            models[id] = new ProviderModel<TModel>(descriptor, model, owner, name, inputs);
        }

        errors = problems;
        return models;
    }

    /// <summary>
    /// Checks an attempt's request against its model's rules once more, in the worker: a job submitted before the rules
    /// changed fails for good (<see cref="MediaGenErrorCodes.ValidationFailed"/>) instead of reaching the provider.
    /// </summary>
    /// <param name="model">The model's descriptor, as the generator serves it now.</param>
    /// <param name="request">The job's request.</param>
    /// <exception cref="GenerationException">The request breaks the model's rules.</exception>
    public static void ThrowIfInvalid(ModelDescriptor model, GenerationRequest request)
    {
        ArgumentNullException.ThrowIfNull(model);
        var invalid = model.Validate(request);
        if (invalid.Count > 0)
        {
            throw GenerationException.Permanent(new RequestValidationException(invalid).Message, MediaGenErrorCodes.ValidationFailed);
        }
    }

    private static ModelSettingsRules SharedSettings(GeneratorModelOptions model)
    {
        var defaults = ModelSettingsRules.Default;
        return new ModelSettingsRules
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
            Parameters = GeneratorParameterOptions.ToRules(model.Parameters),
        };
    }
}
