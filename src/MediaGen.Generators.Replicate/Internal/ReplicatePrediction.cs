using System.Text.Json;

namespace MediaGen.Generators.Replicate.Internal;

/// <summary>The parts of a Replicate prediction the generator reads.</summary>
/// <param name="Id">The prediction id.</param>
/// <param name="Status">starting, processing, succeeded, failed, canceled or aborted.</param>
/// <param name="Error">The model-side error text, when it failed.</param>
/// <param name="Logs">The model's log output, where progress bars appear.</param>
/// <param name="Output">The output: a URL, a list of URLs, or a structure holding them.</param>
internal sealed record ReplicatePrediction(string Id, string Status, string? Error, string? Logs, JsonElement Output)
{
    /// <summary>The model, <c>owner/name</c>, as Replicate names it.</summary>
    public string? Model { get; init; }

    /// <summary>The version id, or <c>hidden</c>.</summary>
    public string? Version { get; init; }

    /// <summary>The input as Replicate received it; undefined once Replicate removed it (an hour after an API prediction).</summary>
    public JsonElement Input { get; init; }

    /// <summary>When Replicate created the prediction.</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    /// <summary>When the prediction ended and its outputs were uploaded.</summary>
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>Whether Replicate deleted the input and output (an hour after an API prediction ends, by default).</summary>
    public bool DataRemoved { get; init; }

    public const string Starting = "starting";
    public const string Processing = "processing";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Canceled = "canceled";
    public const string Aborted = "aborted";

    public bool IsTerminal => Status is Succeeded or Failed or Canceled or Aborted;

    /// <summary>Reads a prediction from a response body.</summary>
    /// <param name="json">The body.</param>
    /// <returns>The prediction, or null when the body is not a prediction.</returns>
    public static ReplicatePrediction? Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            return From(document.RootElement);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Reads a prediction from a JSON element (a response body, or one of a listing's results).</summary>
    /// <param name="root">The element.</param>
    /// <returns>The prediction, or null when the element is not a prediction.</returns>
    public static ReplicatePrediction? From(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String
            || !root.TryGetProperty("status", out var status) || status.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        string? error = null;
        if (root.TryGetProperty("error", out var errorElement))
        {
            error = errorElement.ValueKind switch
            {
                JsonValueKind.String => errorElement.GetString(),
                JsonValueKind.Null or JsonValueKind.Undefined => null,
                _ => errorElement.GetRawText(),
            };
        }

        var logs = root.TryGetProperty("logs", out var logsElement) && logsElement.ValueKind == JsonValueKind.String ? logsElement.GetString() : null;
        var output = root.TryGetProperty("output", out var outputElement) ? outputElement.Clone() : default;
        return new ReplicatePrediction(id.GetString()!, status.GetString()!.ToLowerInvariant(), error, logs, output)
        {
            Model = String(root, "model"),
            Version = String(root, "version"),
            Input = root.TryGetProperty("input", out var input) && input.ValueKind == JsonValueKind.Object ? input.Clone() : default,
            CreatedAt = Time(root, "created_at"),
            CompletedAt = Time(root, "completed_at"),
            DataRemoved = root.TryGetProperty("data_removed", out var removed) && removed.ValueKind == JsonValueKind.True,
        };

        static string? String(JsonElement root, string name) =>
            root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

        static DateTimeOffset? Time(JsonElement root, string name) =>
            root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.TryGetDateTimeOffset(out var time) ? time : null;
    }

    /// <summary>Every output URL (http, https or data) in the output, in order.</summary>
    /// <returns>The URLs.</returns>
    public IReadOnlyList<string> OutputUrls()
    {
        var urls = new List<string>();
        Collect(Output, urls);
        return urls;

        static void Collect(JsonElement element, List<string> urls)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    var value = element.GetString()!;
                    if (value.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
                        || value.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
                        || value.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
                    {
                        urls.Add(value);
                    }

                    break;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        Collect(item, urls);
                    }

                    break;
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        Collect(property.Value, urls);
                    }

                    break;
            }
        }
    }
}
