using System.Globalization;
using System.Text.Json;
using MediaGen.Generators.Http;

namespace MediaGen.Generators.Replicate.Internal;

/// <summary>
/// Compares a catalog model's rules with a Replicate model's <c>openapi_schema</c>: the properties of
/// <c>components.schemas.Input</c>, each resolved through its <c>$ref</c> or <c>allOf</c> (Cog puts enums there).
/// </summary>
internal static class ReplicateSchemaComparer
{
    public static IReadOnlyList<CatalogDisagreement> Compare(ProviderModel<ReplicateModelOptions> model, JsonElement openApiSchema)
    {
        var found = new List<CatalogDisagreement>();
        var options = model.Options;
        var rules = model.Descriptor.Settings;
        if (!TryGetInput(openApiSchema, out var input))
        {
            found.Add(new(model.Id, "input schema", "used", "missing (no components.schemas.Input)"));
            return found;
        }

        Property? Prop(string name) => input.TryGetProperty(name, out var p) ? Resolve(p, openApiSchema) : null;
        void Differ(string setting, string catalog, string live) => found.Add(new(model.Id, setting, catalog, live));

        foreach (var (name, parameter) in options.Parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var inputName = model.ParameterInputs[name];
            var setting = $"parameters.{name}";
            if (Prop(inputName) is not { } live)
            {
                Differ(setting, $"input '{inputName}'", "no such input");
                continue;
            }

            var kind = parameter.Kind ?? ModelParameterKind.Number;
            if (live.Type is { } type && !SameKind(kind, type))
            {
                Differ($"{setting} kind", kind.ToString(), type);
            }

            CompareNumber($"{setting} minimum", parameter.Minimum, live.Minimum);
            CompareNumber($"{setting} maximum", parameter.Maximum, live.Maximum);
            if (parameter.AllowedValues is { } allowed || live.Enum is not null)
            {
                CompareSets($"{setting} values", parameter.AllowedValues, live.Enum);
            }
        }

        if (rules.AspectRatios.Count > 0 || Prop("aspect_ratio") is { Enum: not null })
        {
            var liveRatios = Prop("aspect_ratio")?.Enum?.Where(r => r != options.DimensionsAspectRatio).ToList();
            CompareSets("aspect ratios", rules.AspectRatios.Count > 0 ? [.. rules.AspectRatios] : null, liveRatios);
        }

        var outputs = Prop("num_outputs");
        if (rules.MaxOutputs > 1 || outputs?.Maximum > 1)
        {
            CompareNumber("most outputs (num_outputs maximum)", rules.MaxOutputs, outputs is null ? 1 : outputs.Maximum);
        }

        var width = Prop("width");
        if (rules.SupportsDimensions != (width is not null && Prop("height") is not null))
        {
            Differ("width and height", rules.SupportsDimensions ? "accepted" : "not accepted", width is null ? "not inputs" : "inputs");
        }
        else if (rules.SupportsDimensions)
        {
            CompareNumber("smallest width", rules.MinDimension, width!.Minimum);
            CompareNumber("largest width", rules.MaxDimension, width.Maximum);
        }

        if (rules.OutputFormats.Count > 1 || Prop("output_format") is { Enum: not null })
        {
            var liveFormats = Prop("output_format")?.Enum?.Select(f => f == "jpeg" ? "jpg" : f).ToList();
            CompareSets("output formats", rules.OutputFormats.Count > 1 ? [.. rules.OutputFormats.Select(Format)] : null, liveFormats);
        }

        if (rules.SupportsSeed != Prop("seed") is not null)
        {
            Differ("seed", rules.SupportsSeed ? "accepted" : "not accepted", rules.SupportsSeed ? "no such input" : "an input");
        }

        if (rules.SupportsNegativePrompt != Prop("negative_prompt") is not null)
        {
            Differ("negative prompt", rules.SupportsNegativePrompt ? "accepted" : "not accepted", rules.SupportsNegativePrompt ? "no such input" : "an input");
        }

        return found;

        void CompareNumber(string setting, double? catalog, double? live)
        {
            if (catalog is { } c && live is { } l && c != l)
            {
                Differ(setting, c.ToString(CultureInfo.InvariantCulture), l.ToString(CultureInfo.InvariantCulture));
            }
        }

        void CompareSets(string setting, IReadOnlyCollection<string>? catalog, IReadOnlyCollection<string>? live)
        {
            if (catalog is null && live is null)
            {
                return;
            }

            if (catalog is null || live is null || !catalog.ToHashSet(StringComparer.Ordinal).SetEquals(live))
            {
                Differ(setting, catalog is null ? "any value" : string.Join(", ", catalog), live is null ? "no list" : string.Join(", ", live));
            }
        }
    }

    private static string Format(OutputFormat format) => format switch
    {
        OutputFormat.Jpeg => "jpg",
        OutputFormat.Webp => "webp",
        _ => "png",
    };

    private static bool SameKind(ModelParameterKind kind, string type) => (kind, type) switch
    {
        (ModelParameterKind.Integer, "integer") => true,
        (ModelParameterKind.Number, "number" or "integer") => true,
        (ModelParameterKind.Boolean, "boolean") => true,
        (ModelParameterKind.String, "string") => true,
        _ => false,
    };

    private static bool TryGetInput(JsonElement schema, out JsonElement properties)
    {
        properties = default;
        return schema.ValueKind == JsonValueKind.Object
            && schema.TryGetProperty("components", out var components)
            && components.TryGetProperty("schemas", out var schemas)
            && schemas.TryGetProperty("Input", out var input)
            && input.TryGetProperty("properties", out properties)
            && properties.ValueKind == JsonValueKind.Object;
    }

    /// <summary>A property with what its <c>$ref</c> or <c>allOf</c> points at merged in.</summary>
    private static Property Resolve(JsonElement property, JsonElement root)
    {
        var result = new Property();
        Read(property, 0);
        return result;

        void Read(JsonElement element, int depth)
        {
            if (depth > 8 || element.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            if (element.TryGetProperty("$ref", out var reference) && reference.GetString() is { } path && Find(root, path) is { } target)
            {
                Read(target, depth + 1);
            }

            if (element.TryGetProperty("allOf", out var all) && all.ValueKind == JsonValueKind.Array)
            {
                foreach (var part in all.EnumerateArray())
                {
                    Read(part, depth + 1);
                }
            }

            if (element.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String)
            {
                result.Type = type.GetString();
            }

            if (element.TryGetProperty("minimum", out var minimum) && minimum.TryGetDouble(out var min))
            {
                result.Minimum = min;
            }

            if (element.TryGetProperty("maximum", out var maximum) && maximum.TryGetDouble(out var max))
            {
                result.Maximum = max;
            }

            if (element.TryGetProperty("enum", out var values) && values.ValueKind == JsonValueKind.Array)
            {
                result.Enum = [.. values.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText())];
            }
        }
    }

    private static JsonElement? Find(JsonElement root, string reference)
    {
        if (!reference.StartsWith("#/", StringComparison.Ordinal))
        {
            return null;
        }

        var current = root;
        foreach (var segment in reference[2..].Split('/'))
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(segment.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal), out current))
            {
                return null;
            }
        }

        return current;
    }

    private sealed class Property
    {
        public string? Type { get; set; }

        public double? Minimum { get; set; }

        public double? Maximum { get; set; }

        public List<string>? Enum { get; set; }
    }
}
