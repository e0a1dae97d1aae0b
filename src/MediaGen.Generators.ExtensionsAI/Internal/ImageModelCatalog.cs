using System.Drawing;
using System.Globalization;

namespace MediaGen.Generators.ExtensionsAI.Internal;

/// <summary>A model an image generator serves: what MediaGen validates and charges by, and what the calls send.</summary>
/// <param name="Descriptor">The MediaGen model.</param>
/// <param name="Options">The model's options.</param>
/// <param name="SizesByAspectRatio">The size sent for each aspect ratio the model offers.</param>
internal sealed record ImageModel(ModelDescriptor Descriptor, ExtensionsAIModelOptions Options, IReadOnlyDictionary<string, Size> SizesByAspectRatio);

/// <summary>Builds the models of one image generator from its options and says what is wrong with them.</summary>
internal static class ImageModelCatalog
{
    public static IReadOnlyDictionary<string, ImageModel> Build(string generatorName, ExtensionsAIGeneratorOptions options, out IReadOnlyList<string> errors)
    {
        var problems = new List<string>();
        var models = new Dictionary<string, ImageModel>(StringComparer.Ordinal);
        if (options.Models.Count == 0)
        {
            problems.Add($"Image generator '{generatorName}' serves no model: add at least one under Models, with its CostCredits.");
        }

        foreach (var (id, model) in options.Models)
        {
            var path = $"Image generator '{generatorName}', Models:{id}";
            if (string.IsNullOrWhiteSpace(id))
            {
                problems.Add($"Image generator '{generatorName}' has a model with an empty id.");
                continue;
            }

            if (model.CostCredits is not { } cost || cost < 0)
            {
                problems.Add($"{path}:CostCredits must be set to zero or more.");
                continue;
            }

            if (model.MaxOutputs < 1 || model.MinDimension < 1 || model.DimensionMultiple < 1 || model.MaxDimension < model.MinDimension)
            {
                problems.Add($"{path}: MaxOutputs, MinDimension and DimensionMultiple must be positive, with MinDimension <= MaxDimension.");
                continue;
            }

            var sizes = new Dictionary<string, Size>(StringComparer.Ordinal);
            foreach (var text in model.Sizes ?? [])
            {
                if (!TryParseSize(text, out var size))
                {
                    problems.Add($"{path}:Sizes has '{text}', which is not a size such as 1024x1024.");
                }
                else if (!sizes.TryAdd(AspectRatio(size), size))
                {
                    problems.Add($"{path}:Sizes has {text} and {sizes[AspectRatio(size)].Width}x{sizes[AspectRatio(size)].Height}, both {AspectRatio(size)}: give the second size a model of its own.");
                }
            }

            var settings = new ModelSettingsRules
            {
                SupportsDimensions = model.SupportsDimensions,
                MinDimension = model.MinDimension,
                MaxDimension = model.MaxDimension,
                DimensionMultiple = model.DimensionMultiple,
                AspectRatios = [.. sizes.Keys],
                MaxOutputs = model.MaxOutputs,
                OutputFormats = model.OutputFormats is { Length: > 0 } formats ? [.. formats.Distinct()] : [OutputFormat.Png],
                SupportsSeed = model.SupportsSeed,
                SupportsNegativePrompt = model.SupportsNegativePrompt,
                Parameters = GeneratorParameterOptions.ToRules(model.Parameters),
            };
            var descriptor = new ModelDescriptor
            {
                Id = id,
                DisplayName = model.DisplayName,
                CostCredits = cost,
                ExpectedDuration = model.ExpectedDuration,
                Settings = settings,
            };
            models[id] = new ImageModel(descriptor, model, sizes);
        }

        errors = problems;
        return models;
    }

    /// <summary>Reads <c>WIDTHxHEIGHT</c>, both positive.</summary>
    public static bool TryParseSize(string? text, out Size size)
    {
        size = default;
        var parts = text?.Split('x', 'X');
        if (parts is not [var w, var h]
            || !int.TryParse(w.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var width)
            || !int.TryParse(h.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var height)
            || width < 1 || height < 1)
        {
            return false;
        }

        size = new Size(width, height);
        return true;
    }

    /// <summary>The aspect ratio a size reduces to, such as <c>3:2</c> for 1536x1024.</summary>
    public static string AspectRatio(Size size)
    {
        var divisor = Gcd(size.Width, size.Height);
        return string.Create(CultureInfo.InvariantCulture, $"{size.Width / divisor}:{size.Height / divisor}");
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }
}
