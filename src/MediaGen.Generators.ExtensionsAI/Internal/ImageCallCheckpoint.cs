using System.Text.Json;
using System.Text.Json.Serialization;

namespace MediaGen.Generators.ExtensionsAI.Internal;

/// <summary>Where a job's image call stands, as saved on the job between attempts.</summary>
internal enum ImageCallState
{
    /// <summary>A call was started and has not been settled: it may have been generated and paid, or not.</summary>
    [JsonStringEnumMemberName("calling")]
    Calling = 0,

    /// <summary>The last call failed in a way that proves nothing was generated; a new call pays nothing twice.</summary>
    [JsonStringEnumMemberName("nothing_generated")]
    NothingGenerated = 1,

    /// <summary>The call returned its images as URLs: a later attempt downloads them again instead of calling.</summary>
    [JsonStringEnumMemberName("generated")]
    Generated = 2,
}

/// <summary>One image the call returned as a URL, by its output index.</summary>
/// <param name="Index">The output's index among those asked for.</param>
/// <param name="Uri">Where the provider serves it.</param>
/// <param name="MediaType">Its content type.</param>
internal sealed record ImageCallOutput(int Index, Uri Uri, string MediaType);

/// <summary>
/// The checkpoint the image generator saves around its one synchronous call: <see cref="ImageCallState.Calling"/> before
/// it, so an attempt that finds it knows a call may have been paid, and the settled state after it. JSON on the job.
/// </summary>
/// <param name="State">Where the call stands.</param>
/// <param name="Attempt">The attempt that saved it.</param>
internal sealed record ImageCallCheckpoint(ImageCallState State, int Attempt)
{
    /// <summary>For <see cref="ImageCallState.Generated"/>: the images by index; the indexes missing failed.</summary>
    public IReadOnlyList<ImageCallOutput>? Outputs { get; init; }

    /// <summary>Reads a saved checkpoint. Anything unreadable counts as a call in flight, since it cannot prove otherwise.</summary>
    public static ImageCallCheckpoint? Parse(string? text, int attempt)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(text, ImageCallCheckpointJson.Default.ImageCallCheckpoint) ?? new ImageCallCheckpoint(ImageCallState.Calling, attempt);
        }
        catch (JsonException)
        {
            return new ImageCallCheckpoint(ImageCallState.Calling, attempt);
        }
    }

    public string Serialize() => JsonSerializer.Serialize(this, ImageCallCheckpointJson.Default.ImageCallCheckpoint);
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ImageCallCheckpoint))]
internal sealed partial class ImageCallCheckpointJson : JsonSerializerContext;
