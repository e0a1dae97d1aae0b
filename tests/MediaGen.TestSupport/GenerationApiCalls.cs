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

    /// <summary>
    /// Waits until the job, as <c>GET /api/v1/generations/{id}</c> returns it, satisfies <paramref name="condition"/>,
    /// reading it again after each of its server-sent events rather than polling on a timer.
    /// </summary>
    /// <param name="client">A client whose base address is the API host, authenticated as the job's owner.</param>
    /// <param name="id">The job.</param>
    /// <param name="condition">What to wait for.</param>
    /// <returns>The job as first seen satisfying the condition.</returns>
    /// <exception cref="TimeoutException">The condition did not hold within <see cref="Waits.Limit"/>.</exception>
    /// <exception cref="InvalidOperationException">
    /// The job finished without satisfying the condition: a finished job's events end, so wait for a retry or replay only
    /// once it has been applied.
    /// </exception>
    public static async Task<JsonElement> WaitForJobAsync(this HttpClient client, string id, Func<JsonElement, bool> condition)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(condition);
        using var limit = new CancellationTokenSource(Waits.Limit);

        // Subscribe first, then read: an event published in between is not missed. The stream starts with the job's
        // current state and ends once the job has finished.
        using var stream = await client.GetAsync($"/api/v1/generations/{id}/events", HttpCompletionOption.ResponseHeadersRead, limit.Token);
        stream.EnsureSuccessStatusCode();
        var events = stream.ReadEventsAsync(limit.Token).GetAsyncEnumerator(limit.Token);
        try
        {
            while (true)
            {
                var job = await (await client.GetAsync($"/api/v1/generations/{id}", limit.Token)).ReadJsonAsync();
                if (condition(job))
                {
                    return job;
                }

                var next = events.MoveNextAsync().AsTask();
                await Waits.BoundedAsync(next, limit.Token, $"job {id} reached the expected state (last seen {job})");
                if (!await next)
                {
                    job = await (await client.GetAsync($"/api/v1/generations/{id}", limit.Token)).ReadJsonAsync();
                    return condition(job) ? job : throw new InvalidOperationException($"Job {id}'s events ended without it reaching the expected state; last seen: {job}");
                }
            }
        }
        finally
        {
            await events.DisposeAsync();
        }
    }
}
