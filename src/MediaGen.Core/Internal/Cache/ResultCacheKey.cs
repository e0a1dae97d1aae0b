using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;

namespace MediaGen.Internal;

/// <summary>
/// A request's result-cache key: the SHA-256 (lowercase hex) of a canonical JSON document holding everything that
/// decides the image (model, prompt, negative prompt, typed settings with the seed, parameters) and nothing that does not
/// (owner, idempotency key, webhook, priority). Canonical: fixed property order, parameters sorted by name at every depth,
/// numbers written in one form, so equal requests give equal keys in every process and version of .NET.
/// </summary>
internal static class ResultCacheKey
{
    /// <summary>The key's format version; a change to the document changes it, so old entries are never misread.</summary>
    private const int Version = 1;

    public static string Compute(GenerationRequest request)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("v", Version);
            writer.WriteString("model", request.Model);
            writer.WriteString("prompt", request.Prompt);
            writer.WriteString("negativePrompt", request.NegativePrompt);
            var settings = request.Settings ?? GenerationSettings.Default;
            writer.WriteStartObject("settings");
            WriteNumber(writer, "width", settings.Width);
            WriteNumber(writer, "height", settings.Height);
            writer.WriteString("aspectRatio", settings.AspectRatio);
            WriteNumber(writer, "outputCount", settings.OutputCount);
            writer.WriteString("outputFormat", settings.OutputFormat?.ToString());
            WriteNumber(writer, "seed", settings.Seed);
            writer.WriteEndObject();
            writer.WriteStartObject("parameters");
            if (request.Parameters is { } parameters)
            {
                foreach (var name in parameters.Keys.Order(StringComparer.Ordinal))
                {
                    writer.WritePropertyName(name);
                    WriteCanonical(writer, parameters[name]);
                }
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return Convert.ToHexString(SHA256.HashData(buffer.WrittenSpan)).ToLowerInvariant();
    }

    private static void WriteNumber(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static void WriteCanonical(Utf8JsonWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(property.Name);
                    WriteCanonical(writer, property.Value);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    WriteCanonical(writer, item);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(element.GetString());
                break;
            case JsonValueKind.Number when element.TryGetInt64(out var integer):
                writer.WriteNumberValue(integer);
                break;
            case JsonValueKind.Number when element.TryGetDecimal(out var exact):
                // 1.50 and 1.5 are one number: written without trailing zeros.
                writer.WriteNumberValue(exact / 1.0000000000000000000000000000m);
                break;
            case JsonValueKind.Number:
                writer.WriteNumberValue(element.GetDouble());
                break;
            case JsonValueKind.True:
                writer.WriteBooleanValue(true);
                break;
            case JsonValueKind.False:
                writer.WriteBooleanValue(false);
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }
}
