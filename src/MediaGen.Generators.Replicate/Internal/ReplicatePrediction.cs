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
            var root = document.RootElement;
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
            return new ReplicatePrediction(id.GetString()!, status.GetString()!.ToLowerInvariant(), error, logs, output);
        }
        catch (JsonException)
        {
            return null;
        }
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
