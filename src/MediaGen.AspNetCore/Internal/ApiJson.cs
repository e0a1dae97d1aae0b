using System.Text.Json;
using System.Text.Json.Serialization;

namespace MediaGen.AspNetCore.Internal;

/// <summary>
/// The API's JSON: camelCase, enums as camelCase strings, nulls left out. The API reads and writes with these options,
/// never the host's, so its wire format does not change with the host's own JSON settings.
/// </summary>
internal static class ApiJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            // Bounded: a body is at most MaxRequestBodyBytes, but deep nesting costs stack, not bytes.
            MaxDepth = 32,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
