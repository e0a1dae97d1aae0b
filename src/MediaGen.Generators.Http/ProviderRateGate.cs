namespace MediaGen.Generators.Http;

/// <summary>
/// Pauses every call one generator makes to its provider after the provider answered 429, for every job in the
/// process: each request awaits <see cref="WaitAsync"/> first. Time comes from the injected <see cref="TimeProvider"/>.
/// </summary>
/// <param name="timeProvider">The clock pauses are measured on.</param>
public sealed class ProviderRateGate(TimeProvider timeProvider)
{
    private long _pausedUntilTicks;
    private int _waiters;

    /// <summary>How many callers are waiting for the pause to end (for tests and diagnostics).</summary>
    public int WaiterCount => Volatile.Read(ref _waiters);

    /// <summary>The instant the current pause ends, or null when calls may go ahead.</summary>
    public DateTimeOffset? PausedUntil
    {
        get
        {
            var ticks = Interlocked.Read(ref _pausedUntilTicks);
            return ticks > timeProvider.GetUtcNow().UtcTicks ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;
        }
    }

    /// <summary>Pauses calls for <paramref name="duration"/> from now, unless a longer pause is already in force.</summary>
    /// <param name="duration">How long to pause.</param>
    /// <returns>The instant the pause ends.</returns>
    public DateTimeOffset Pause(TimeSpan duration)
    {
        var until = timeProvider.GetUtcNow().Add(duration < TimeSpan.Zero ? TimeSpan.Zero : duration).UtcTicks;
        var current = Interlocked.Read(ref _pausedUntilTicks);
        while (until > current)
        {
            var seen = Interlocked.CompareExchange(ref _pausedUntilTicks, until, current);
            if (seen == current)
            {
                break;
            }

            current = seen;
        }

        return new DateTimeOffset(Math.Max(until, current), TimeSpan.Zero);
    }

    /// <summary>Returns once no pause is in force (at once when there is none).</summary>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>A task that completes when calls may go ahead.</returns>
    public async ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var remaining = new DateTimeOffset(Interlocked.Read(ref _pausedUntilTicks), TimeSpan.Zero) - timeProvider.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                return;
            }

            Interlocked.Increment(ref _waiters);
            try
            {
                await Task.Delay(remaining, timeProvider, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _waiters);
            }
        }
    }
}
