namespace MediaGen.Shared;

/// <summary>
/// The receive loop of a queue that is woken by its server (Redis pub/sub, PostgreSQL LISTEN/NOTIFY): look for ready
/// messages; when there are none, wait for the wake signal, the next delayed message or expired lease coming due, or the
/// idle check, whichever comes first, and look again until <c>maxWait</c> has passed. Compiled into each queue package
/// that needs it (linked source), so it adds nothing to any public API.
/// </summary>
internal static class WakeableReceive
{
    /// <summary>The longest single wait, whatever the idle check says, so a clock change is noticed.</summary>
    private static readonly TimeSpan LongestWait = TimeSpan.FromMinutes(10);

    /// <summary>Receives up to what <paramref name="receiveOnce"/> takes, waiting up to <paramref name="maxWait"/> for the first message.</summary>
    /// <param name="state">Passed to the callbacks.</param>
    /// <param name="signal">The current wake signal; taken before each look, so a wake-up after the look completes it.</param>
    /// <param name="receiveOnce">One look: the leases taken, and when the next delayed message or lease falls due.</param>
    /// <param name="maxWait">How long to wait for the first message.</param>
    /// <param name="idleCheck">The longest wait between looks when nothing signals (the safety net for a lost wake-up).</param>
    /// <param name="time">The clock.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    public static async ValueTask<IReadOnlyList<IQueueLease>> ReceiveAsync<TState>(
        TState state,
        Func<TState, Task> signal,
        Func<TState, CancellationToken, ValueTask<(IReadOnlyList<IQueueLease> Leases, DateTimeOffset? NextDue)>> receiveOnce,
        TimeSpan maxWait,
        TimeSpan idleCheck,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();

            // Take the signal before looking: a wake-up published after the look completes this very task.
            var wake = signal(state);
            var (leases, nextDue) = await receiveOnce(state, cancellationToken).ConfigureAwait(false);
            if (leases.Count > 0)
            {
                return leases;
            }

            var remaining = maxWait - time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                return leases;
            }

            var wait = remaining < idleCheck ? remaining : idleCheck;
            var now = time.GetUtcNow();
            if (nextDue is { } due)
            {
                var untilDue = due - now;
                untilDue = untilDue < TimeSpan.Zero ? TimeSpan.Zero : untilDue;
                wait = untilDue < wait ? untilDue : wait;
            }

            wait = wait > LongestWait ? LongestWait : wait;
            if (wait > TimeSpan.Zero)
            {
                await WaitAsync(wake, wait, now + wait, time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Waits for <paramref name="wake"/> or for <paramref name="wait"/> to pass. The timer is armed relative to the clock's
    /// time when it is armed; a clock that moved past <paramref name="deadline"/> in between (a test's clock, moved on
    /// another thread) would have it fire a whole wait late, so the deadline is checked again once the timer is armed.
    /// </summary>
    private static async ValueTask WaitAsync(Task wake, TimeSpan wait, DateTimeOffset deadline, TimeProvider time, CancellationToken cancellationToken)
    {
        using var armed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var waiting = wake.WaitAsync(wait, time, armed.Token);
        if (!waiting.IsCompleted && time.GetUtcNow() >= deadline)
        {
            // Look again now; the timer is disposed (its task ends canceled, which nothing observes).
            await armed.CancelAsync().ConfigureAwait(false);
            return;
        }

        try
        {
            await waiting.ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Time to look again: a delayed message or an expired lease may be due, or maxWait has passed.
        }
    }
}
