using System.Text.Json;
using System.Text.Json.Serialization;

namespace MediaGen.Internal;

/// <summary>
/// The webhook body's JSON, generated at compile time so it needs no reflection (trimming, Native AOT): web defaults,
/// nulls left out, enums as camel-case strings.
/// </summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(CamelCaseEnumConverter<JobStatus>)])]
[JsonSerializable(typeof(WebhookDispatcher.WebhookPayload))]
[JsonSerializable(typeof(WebhookDispatcher.WebhookEnvelope))]
internal sealed partial class WebhookJsonContext : JsonSerializerContext;

/// <summary>An enum written as its camel-case name, without the reflection of the non-generic <see cref="JsonStringEnumConverter"/>.</summary>
/// <typeparam name="TEnum">The enum.</typeparam>
internal sealed class CamelCaseEnumConverter<TEnum>() : JsonStringEnumConverter<TEnum>(JsonNamingPolicy.CamelCase)
    where TEnum : struct, Enum;
