using System.Text.Json;
using System.Text.Json.Serialization;

namespace MediaGen.PostgreSql.Internal;

/// <summary>
/// The JSON shapes stored in PostgreSQL (a job's document, a message's headers) and sent in notifications (events).
/// Enums are written as names so the data reads well in SQL.
/// </summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GenerationJob))]
[JsonSerializable(typeof(JobEvent))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class PostgresJsonContext : JsonSerializerContext
{
    public static string Serialize(GenerationJob job) => JsonSerializer.Serialize(job, Default.GenerationJob);

    public static GenerationJob DeserializeJob(string json) =>
        JsonSerializer.Deserialize(json, Default.GenerationJob) ?? throw new InvalidOperationException("The job store holds an empty job record.");
}
