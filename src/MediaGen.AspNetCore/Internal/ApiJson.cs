using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace MediaGen.AspNetCore.Internal;

/// <summary>
/// The API's JSON: camelCase, enums as camelCase strings, nulls left out, unknown fields refused. The API reads and writes with these options,
/// never the host's, so its wire format does not change with the host's own JSON settings. Every type it reads or
/// writes is generated at compile time (<see cref="ApiJsonContext"/>), so no reflection is needed (trimming, Native AOT).
/// </summary>
internal static class ApiJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    /// <summary>The metadata of <typeparamref name="T"/> under <see cref="Options"/>.</summary>
    /// <typeparam name="T">A type <see cref="ApiJsonContext"/> declares.</typeparam>
    /// <returns>The metadata.</returns>
    public static JsonTypeInfo<T> TypeInfo<T>() => (JsonTypeInfo<T>)Options.GetTypeInfo(typeof(T));

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            // Bounded: a body is at most MaxRequestBodyBytes, but deep nesting costs stack, not bytes.
            MaxDepth = 32,
            // A field the endpoint does not take is refused, not dropped: "settings": {...} or "outputs": 2 would
            // otherwise submit a job with the defaults and no word of why.
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            TypeInfoResolver = ApiJsonContext.Default,
        };

        // One converter per enum the API reads or writes (a factory would need runtime code generation). Each reads one
        // name only: JsonStringEnumConverter reads "png, jpeg" as the names' bitwise OR, another value than either, or
        // none at all, even for an enum that is not [Flags].
        options.Converters.Add(new EnumNameConverter<JobStatus>());
        options.Converters.Add(new EnumNameConverter<JobPriority>());
        options.Converters.Add(new EnumNameConverter<OutputFormat>());
        options.Converters.Add(new EnumNameConverter<JobEventType>());
        options.Converters.Add(new EnumNameConverter<ModelParameterKind>());
        options.Converters.Add(new JsonStringEnumConverter<WebhookEventFilter>(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        options.MakeReadOnly();
        return options;
    }
}

/// <summary>The API's names for enum values: camelCase to write, and exactly one defined name to read.</summary>
internal static class EnumName
{
    /// <summary>
    /// Reads one name of <typeparamref name="T"/>, in any case. Only letters: <see cref="Enum.TryParse{TEnum}(string, bool, out TEnum)"/>
    /// alone also reads numbers, and a comma-separated list as the bitwise OR of its names ("processing,succeeded" is
    /// <c>failed</c>), which would filter or submit silently with another value than the client named.
    /// </summary>
    public static bool TryParse<T>(string? text, out T value)
        where T : struct, Enum
    {
        value = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiLetter(c))
            {
                return false;
            }
        }

        return Enum.TryParse(text, ignoreCase: true, out value) && Enum.IsDefined(value);
    }

    /// <summary>The names of <typeparamref name="T"/> as the API writes them, for messages.</summary>
    public static string List<T>()
        where T : struct, Enum =>
        string.Join(", ", Enum.GetNames<T>().Select(JsonNamingPolicy.CamelCase.ConvertName));
}

/// <summary>An enum as a camelCase string; reads exactly one of its names (<see cref="EnumName.TryParse{T}"/>).</summary>
internal sealed class EnumNameConverter<T> : JsonConverter<T>
    where T : struct, Enum
{
    private static readonly Dictionary<T, JsonEncodedText> Names = Enum.GetValues<T>().Distinct().ToDictionary(v => v, v => JsonEncodedText.Encode(JsonNamingPolicy.CamelCase.ConvertName(v.ToString())));

    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String && EnumName.TryParse(reader.GetString(), out T value)
            ? value
            : throw new JsonException($"Must be one of: {EnumName.List<T>()}.");

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
    {
        if (!Names.TryGetValue(value, out var name))
        {
            throw new JsonException($"{typeof(T).Name} has no value {value}.");
        }

        writer.WriteStringValue(name);
    }
}

/// <summary>Every type the API reads or writes as JSON, including the values a problem's extensions hold.</summary>
[JsonSerializable(typeof(CreateGenerationBody))]
[JsonSerializable(typeof(JobResponse))]
[JsonSerializable(typeof(JobListResponse))]
[JsonSerializable(typeof(ModelResponse[]))]
[JsonSerializable(typeof(CreditsResponse))]
[JsonSerializable(typeof(JobEventResponse))]
[JsonSerializable(typeof(QueuePositionResponse))]
[JsonSerializable(typeof(Dashboard.QueueOverview))]
[JsonSerializable(typeof(Dashboard.ThroughputOverview))]
[JsonSerializable(typeof(IReadOnlyList<Dashboard.RunningJob>))]
[JsonSerializable(typeof(IReadOnlyList<WorkerHeartbeat>))]
[JsonSerializable(typeof(IReadOnlyList<Dashboard.FailedJob>))]
[JsonSerializable(typeof(IReadOnlyList<Dashboard.DeadLetter>))]
[JsonSerializable(typeof(Dashboard.JobDetail))]
[JsonSerializable(typeof(Dashboard.AntiforgeryToken))]
[JsonSerializable(typeof(ProblemDetails))]
[JsonSerializable(typeof(HttpValidationProblemDetails))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(long))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
