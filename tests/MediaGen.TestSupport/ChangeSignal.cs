namespace MediaGen.TestSupport;

/// <summary>
/// A signal the code under test's observable steps pulse (an event published, a log written, a generator called, a
/// timer re-armed), so a test waits for its condition to be checked again after each step instead of on a timer.
/// </summary>
public sealed class ChangeSignal
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A task that completes at the next <see cref="Pulse"/>; read it before checking what it guards, so no pulse is missed.</summary>
    public Task Next
    {
        get
        {
            lock (_lock)
            {
                return _next.Task;
            }
        }
    }

    /// <summary>Completes the waiting <see cref="Next"/> and starts a new one.</summary>
    public void Pulse()
    {
        TaskCompletionSource pulsed;
        lock (_lock)
        {
            pulsed = _next;
            _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        pulsed.TrySetResult();
    }

    /// <summary>
    /// Checks <paramref name="condition"/> now and again after every pulse until it holds, failing after
    /// <paramref name="limit"/> of real time (<see cref="Waits.Limit"/> when null).
    /// </summary>
    /// <typeparam name="T">What the condition reads.</typeparam>
    /// <param name="read">Reads the state to check.</param>
    /// <param name="condition">What to wait for.</param>
    /// <param name="what">What is awaited, with the last state read, for the failure message.</param>
    /// <param name="limit">The longest wait.</param>
    /// <returns>The state first read satisfying the condition.</returns>
    /// <exception cref="TimeoutException">The condition did not hold within the limit.</exception>
    public async Task<T> WaitUntilAsync<T>(Func<Task<T>> read, Func<T, bool> condition, Func<T, string> what, TimeSpan? limit = null)
    {
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(what);
        using var bound = new CancellationTokenSource(limit ?? Waits.Limit);
        while (true)
        {
            var next = Next;
            var state = await read();
            if (condition(state))
            {
                return state;
            }

            await Waits.BoundedAsync(next, bound.Token, what(state));
        }
    }

    /// <summary>Checks <paramref name="condition"/> now and again after every pulse until it holds.</summary>
    /// <param name="condition">What to wait for.</param>
    /// <param name="what">What is awaited, for the failure message.</param>
    /// <param name="limit">The longest wait (<see cref="Waits.Limit"/> when null).</param>
    /// <returns>A task that completes once the condition holds.</returns>
    /// <exception cref="TimeoutException">The condition did not hold within the limit.</exception>
    public Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? limit = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return WaitUntilAsync(() => Task.FromResult(condition()), held => held, _ => what, limit);
    }
}
