namespace MediaGen.TestSupport;

/// <summary>Waits for a job to reach a state by listening to its events, not by polling the store on a timer.</summary>
public static class JobWaits
{
    /// <summary>Waits until the job's stored state satisfies <paramref name="condition"/>, reading it again after each of its events.</summary>
    /// <param name="services">A provider with MediaGen's client and event stream.</param>
    /// <param name="ownerId">The job's owner.</param>
    /// <param name="jobId">The job.</param>
    /// <param name="condition">What to wait for.</param>
    /// <returns>The job as first seen satisfying the condition.</returns>
    /// <exception cref="TimeoutException">The condition did not hold within <see cref="Waits.Limit"/>.</exception>
    public static async Task<GenerationJob> WaitForJobAsync(this IServiceProvider services, string ownerId, string jobId, Func<GenerationJob, bool> condition)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(condition);
        var client = services.GetRequiredService<IMediaGenerationClient>();
        using var stop = new CancellationTokenSource();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        limit.CancelAfter(Waits.Limit);
        // Live before the job is read: an event published in between is not missed.
        var events = await services.GetRequiredService<IJobEventStream>().OpenSubscriptionAsync(jobId, limit.Token);
        var next = events.MoveNextAsync().AsTask();
        try
        {
            while (true)
            {
                var job = await client.GetAsync(ownerId, jobId);
                if (condition(job))
                {
                    return job;
                }

                var what = $"job {jobId} reached the expected state (last seen {job.Status})";
                await Waits.BoundedAsync(next, limit.Token, what);
                if (!await next)
                {
                    job = await client.GetAsync(ownerId, jobId);
                    return condition(job) ? job : throw new InvalidOperationException($"Job {jobId}'s events ended in state {job.Status} without reaching the expected state.");
                }

                next = events.MoveNextAsync().AsTask();
            }
        }
        finally
        {
            // End the pending read before unsubscribing.
            await stop.CancelAsync();
            try
            {
                await next;
            }
            catch (OperationCanceledException)
            {
            }

            await events.DisposeAsync();
        }
    }

    /// <summary>Waits until the job is Succeeded, Failed or Canceled.</summary>
    /// <param name="services">A provider with MediaGen's client and event stream.</param>
    /// <param name="ownerId">The job's owner.</param>
    /// <param name="jobId">The job.</param>
    /// <returns>The finished job.</returns>
    public static Task<GenerationJob> WaitForTerminalAsync(this IServiceProvider services, string ownerId, string jobId) =>
        services.WaitForJobAsync(ownerId, jobId, j => j.Status.IsTerminal());
}
