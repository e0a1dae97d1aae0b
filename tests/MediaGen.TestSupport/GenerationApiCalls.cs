using System.Net.Http.Json;
using System.Text.Json;

namespace MediaGen.TestSupport;

/// <summary>Calls to MediaGen's HTTP API that the API's test projects share.</summary>
public static class GenerationApiCalls
{
    /// <summary>Posts <paramref name="body"/> as JSON to <c>/api/v1/generations</c>.</summary>
    /// <param name="client">A client whose base address is the API host.</param>
    /// <param name="body">The submission.</param>
    /// <param name="idempotencyKey">An <c>Idempotency-Key</c> header, or null for none.</param>
    /// <returns>The response.</returns>
    public static Task<HttpResponseMessage> SubmitAsync(this HttpClient client, object body, string? idempotencyKey = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/generations") { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return client.SendAsync(request);
    }

    /// <summary>Reads the response body as a JSON document.</summary>
    /// <param name="response">The response.</param>
    /// <returns>The document's root, detached from the response.</returns>
    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var text = await response.Content.ReadAsStringAsync();
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
