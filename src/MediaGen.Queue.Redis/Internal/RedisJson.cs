using System.Text.Json;
using System.Text.Json.Serialization;

namespace MediaGen.Queue.Redis.Internal;

/// <summary>The JSON shapes stored in Redis. Enums are written as names so the data reads well in redis-cli.</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GenerationJob))]
[JsonSerializable(typeof(JobEvent))]
[JsonSerializable(typeof(WorkerHeartbeat))]
[JsonSerializable(typeof(QueueMessageBody))]
internal sealed partial class RedisJsonContext : JsonSerializerContext
{
}

/// <summary>The body of a queue message as stored in Redis.</summary>
internal sealed class QueueMessageBody
{
    /// <summary>The body format version; a body without it is not MediaGen's.</summary>
    [JsonPropertyName("v")]
    public int Version { get; set; }

    [JsonPropertyName("job")]
    public string? JobId { get; set; }

    [JsonPropertyName("group")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? GroupId { get; set; }

    [JsonPropertyName("headers")]
    public Dictionary<string, string>? Headers { get; set; }
}
