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

        // Generic converters, one per enum the API reads or writes: the non-generic one needs runtime code generation.
        options.Converters.Add(new JsonStringEnumConverter<JobStatus>(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        options.Converters.Add(new JsonStringEnumConverter<JobPriority>(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        options.Converters.Add(new JsonStringEnumConverter<OutputFormat>(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        options.Converters.Add(new JsonStringEnumConverter<JobEventType>(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        options.Converters.Add(new JsonStringEnumConverter<ModelParameterKind>(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        options.Converters.Add(new JsonStringEnumConverter<WebhookEventFilter>(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        options.MakeReadOnly();
        return options;
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
