using System.Runtime.CompilerServices;

namespace MediaGen.TestSupport;

/// <summary>Reads a server-sent event stream, such as the sample API's <c>/api/v1/generations/{id}/events</c>.</summary>
public static class ServerSentEvents
{
    /// <summary>Reads server-sent events (name and JSON data) until the stream ends; comment lines come back with the name ":".</summary>
    /// <param name="response">A response whose headers were read (<see cref="HttpCompletionOption.ResponseHeadersRead"/>).</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The events, as they arrive.</returns>
    public static async IAsyncEnumerable<(string Event, JsonElement Data)> ReadEventsAsync(this HttpResponseMessage response, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string? name = null;
        var data = new StringBuilder();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith(':'))
            {
                yield return (":", default);
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line["event: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Append(line["data: ".Length..]);
            }
            else if (line.Length == 0 && name is not null)
            {
                yield return (name, JsonDocument.Parse(data.ToString()).RootElement.Clone());
                name = null;
                data.Clear();
            }
        }
    }
}
