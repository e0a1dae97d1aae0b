namespace MediaGen.TestSupport;

/// <summary>The bound every wait in the test support gives up after, so a broken test fails instead of hanging.</summary>
public static class Waits
{
    /// <summary>How long a wait may take before it fails.</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    /// <summary>Awaits <paramref name="task"/>, failing with a message naming <paramref name="what"/> when <paramref name="limit"/> fires first.</summary>
    /// <param name="task">What to await.</param>
    /// <param name="limit">The bound.</param>
    /// <param name="what">What is awaited.</param>
    /// <returns>A task that completes with <paramref name="task"/>.</returns>
    /// <exception cref="TimeoutException">The bound fired first.</exception>
    public static async Task BoundedAsync(Task task, CancellationToken limit, string what)
    {
        ArgumentNullException.ThrowIfNull(task);
        try
        {
            await task.WaitAsync(limit);
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested)
        {
            throw new TimeoutException($"Timed out waiting until {what}.");
        }
    }
}
