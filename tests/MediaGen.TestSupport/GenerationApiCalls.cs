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

    /// <summary>The job's status, as the API spells it.</summary>
    /// <param name="job">A job as the API returns it.</param>
    /// <returns>The status.</returns>
    public static string Status(this JsonElement job) => job.GetProperty("status").GetString()!;

    /// <summary>Whether the job, as the API returns it, has finished: succeeded, failed or canceled.</summary>
    /// <param name="job">A job as the API returns it.</param>
    /// <returns>True once it has finished.</returns>
    public static bool IsFinished(this JsonElement job) => job.Status() is "succeeded" or "failed" or "canceled";

    /// <summary>
    /// Waits until the job, as <c>GET /api/v1/generations/{id}</c> returns it, satisfies <paramref name="condition"/>,
    /// reading it again after each of its server-sent events rather than polling on a timer.
    /// </summary>
    /// <param name="client">A client whose base address is the API host, authenticated as the job's owner.</param>
    /// <param name="id">The job.</param>
    /// <param name="condition">What to wait for.</param>
    /// <param name="limit">The longest wait (<see cref="Waits.Limit"/> when null).</param>
    /// <returns>The job as first seen satisfying the condition.</returns>
    /// <exception cref="TimeoutException">The condition did not hold within the limit.</exception>
    /// <exception cref="InvalidOperationException">
    /// The job finished without satisfying the condition: a finished job's events end, so wait for a retry or replay only
    /// once it has been applied.
    /// </exception>
    public static async Task<JsonElement> WaitForJobAsync(this HttpClient client, string id, Func<JsonElement, bool> condition, TimeSpan? limit = null)
    {
        using var bound = new CancellationTokenSource(limit ?? Waits.Limit);
        return await client.WaitForJobAsync(id, condition, bound.Token);
    }

    /// <summary>
    /// Waits until every job in <paramref name="ids"/> satisfies <paramref name="condition"/>, following a few jobs' events
    /// at a time, within one <paramref name="limit"/> for all of them.
    /// </summary>
    /// <param name="client">A client whose base address is the API host, authenticated as the jobs' owner.</param>
    /// <param name="ids">The jobs.</param>
    /// <param name="condition">What each job must satisfy; a job that finishes without it fails the wait.</param>
    /// <param name="limit">The longest wait for all of them.</param>
    /// <returns>The jobs, in the order of <paramref name="ids"/>, as first seen satisfying the condition.</returns>
    /// <exception cref="TimeoutException">Some job did not satisfy the condition within the limit.</exception>
    public static async Task<JsonElement[]> WaitForJobsAsync(this HttpClient client, IEnumerable<string> ids, Func<JsonElement, bool> condition, TimeSpan limit)
    {
        using var bound = new CancellationTokenSource(limit);
        return await client.WaitForEachAsync(ids, condition, bound.Token, reached: null);
    }

    /// <summary>
    /// Waits until every job in <paramref name="ids"/> satisfies <paramref name="condition"/>, for as long as they keep
    /// getting there: the wait fails only when no job has reached the condition for <paramref name="stall"/>. For draining
    /// a backlog whose size the test does not fix (clients that submit without pause), where how long the whole drain takes
    /// depends on the machine's load, but a job that never finishes still stalls it.
    /// </summary>
    /// <param name="client">A client whose base address is the API host, authenticated as the jobs' owner.</param>
    /// <param name="ids">The jobs.</param>
    /// <param name="condition">What each job must satisfy; a job that finishes without it fails the wait.</param>
    /// <param name="stall">The longest time without any job newly satisfying the condition.</param>
    /// <returns>The jobs, in the order of <paramref name="ids"/>, as first seen satisfying the condition.</returns>
    /// <exception cref="TimeoutException">No job newly satisfied the condition for <paramref name="stall"/>.</exception>
    public static async Task<JsonElement[]> WaitForJobsWhileProgressingAsync(this HttpClient client, IEnumerable<string> ids, Func<JsonElement, bool> condition, TimeSpan stall)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var list = ids.ToList();
        var done = 0;
        using var bound = new CancellationTokenSource(stall);
        try
        {
            // Progress: the stall limit starts again (CancelAfter on a source not yet canceled reschedules it).
            return await client.WaitForEachAsync(list, condition, bound.Token, () =>
            {
                Interlocked.Increment(ref done);
                bound.CancelAfter(stall);
            });
        }
        catch (Exception e) when (e is TimeoutException || (e is OperationCanceledException && bound.IsCancellationRequested))
        {
            throw new TimeoutException($"No job reached the expected state for {stall.TotalSeconds:0} s ({Volatile.Read(ref done)} of {list.Count} had). {e.Message}", e);
        }
    }

    /// <summary>Follows a few jobs' events at a time until each satisfies the condition, calling <paramref name="reached"/> after each.</summary>
    private static async Task<JsonElement[]> WaitForEachAsync(this HttpClient client, IEnumerable<string> ids, Func<JsonElement, bool> condition, CancellationToken limit, Action? reached)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var list = ids.ToList();
        var jobs = new JsonElement[list.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, list.Count),
            new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (i, _) =>
            {
                jobs[i] = await client.WaitForJobAsync(list[i], condition, limit);
                reached?.Invoke();
            });
        return jobs;
    }

    private static async Task<JsonElement> WaitForJobAsync(this HttpClient client, string id, Func<JsonElement, bool> condition, CancellationToken limit)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(condition);

        // Subscribe first, then read: an event published in between is not missed. The stream starts with the job's
        // current state and ends once the job has finished.
        using var stream = await client.GetAsync($"/api/v1/generations/{id}/events", HttpCompletionOption.ResponseHeadersRead, limit);
        stream.EnsureSuccessStatusCode();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(limit);
        var events = stream.ReadEventsAsync(stop.Token).GetAsyncEnumerator(stop.Token);
        Task<bool>? next = null;
        try
        {
            while (true)
            {
                var job = await (await client.GetAsync($"/api/v1/generations/{id}", limit)).ReadJsonAsync();
                if (condition(job))
                {
                    return job;
                }

                next = events.MoveNextAsync().AsTask();
                await Waits.BoundedAsync(next, limit, $"job {id} reached the expected state (last seen {job})");
                var more = await next;
                next = null;
                if (!more)
                {
                    job = await (await client.GetAsync($"/api/v1/generations/{id}", limit)).ReadJsonAsync();
                    return condition(job) ? job : throw new InvalidOperationException($"Job {id}'s events ended without it reaching the expected state; last seen: {job}");
                }
            }
        }
        finally
        {
            // A wait given up (its limit, or another job's wait that won) leaves a read pending: end it first, since an
            // async enumerator cannot be disposed while a read is in flight.
            if (next is not null)
            {
                await stop.CancelAsync();
                try
                {
                    await next;
                }
                catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
                {
                }
            }

            await events.DisposeAsync();
        }
    }
}
