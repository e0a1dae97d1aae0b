namespace MediaGen.TestSupport;

/// <summary>What every provider generator does while its provider is paused by a 429, written once for each provider's tests.</summary>
public static class ProviderPauseChecks
{
    /// <summary>
    /// Runs two jobs after the provider answered 429 with a 30 s Retry-After: both wait on the pause, and no further call
    /// reaches the provider until it ends.
    /// </summary>
    /// <param name="time">The generator's clock.</param>
    /// <param name="gate">The generator's gate.</param>
    /// <param name="runJob">Runs one job through the generator.</param>
    /// <param name="calls">How many calls reached the provider (the rate-limited one included).</param>
    /// <returns>How long the jobs waited, on <paramref name="time"/>.</returns>
    public static async Task<TimeSpan> TwoJobsWaitOutThePauseAsync(ObservedTimeProvider time, ProviderRateGate gate, Func<Task> runJob, Func<int> calls)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(gate);
        ArgumentNullException.ThrowIfNull(runJob);
        ArgumentNullException.ThrowIfNull(calls);
        var first = runJob();
        await time.WaitForTimersAsync(1, TimeSpan.FromSeconds(30));
        Assert.Equal(1, gate.WaiterCount);
        var second = runJob();
        await time.WaitForTimersAsync(2, TimeSpan.FromSeconds(30));
        Assert.Equal(2, gate.WaiterCount);

        return await time.AdvanceUntilDoneAsync(Task.WhenAll(first, second), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), () => Assert.Equal(1, calls()));
    }
}
