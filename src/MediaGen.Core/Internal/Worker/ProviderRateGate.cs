using System.Collections.Concurrent;

namespace MediaGen.Internal;

/// <summary>
/// Pauses every attempt of one generator in this process after it reported a rate limit, for the Retry-After it
/// gave: a 429 slows the provider for all jobs, not only the one that got it.
/// </summary>
internal sealed class ProviderRateGate(TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<string, long> _pausedUntil = new(StringComparer.Ordinal);

    public void Pause(string generator, TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero)
        {
            return;
        }

        var until = (timeProvider.GetUtcNow() + duration).UtcTicks;
        _pausedUntil.AddOrUpdate(generator, until, (_, existing) => Math.Max(existing, until));
    }

    public TimeSpan RemainingPause(string generator)
    {
        if (!_pausedUntil.TryGetValue(generator, out var until))
        {
            return TimeSpan.Zero;
        }

        var remaining = until - timeProvider.GetUtcNow().UtcTicks;
        return remaining > 0 ? TimeSpan.FromTicks(remaining) : TimeSpan.Zero;
    }

    public async ValueTask WaitAsync(string generator, CancellationToken cancellationToken)
    {
        for (var pause = RemainingPause(generator); pause > TimeSpan.Zero; pause = RemainingPause(generator))
        {
            await Task.Delay(pause, timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }
}
