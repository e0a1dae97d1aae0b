using Polly;

namespace MediaGen.Internal;

/// <summary>
/// The delay before a job's next attempt: constant, linear or exponential in the attempt number (Polly's
/// <see cref="DelayBackoffType"/>), with full jitter when enabled, capped, and never shorter than the provider's
/// Retry-After.
/// </summary>
internal static class RetryBackoff
{
    public static TimeSpan Compute(JobRetryBackoffOptions options, int failedAttempt, TimeSpan? retryAfter, Random random)
    {
        var baseTicks = (double)options.Delay.Ticks;
        var n = Math.Max(1, failedAttempt);
        var ticks = options.BackoffType switch
        {
            DelayBackoffType.Constant => baseTicks,
            DelayBackoffType.Linear => baseTicks * n,
            _ => baseTicks * Math.Pow(2, Math.Min(n - 1, 30)),
        };
        ticks = Math.Min(ticks, options.MaxDelay.Ticks);
        if (options.UseJitter)
        {
            // Half fixed, half random: spreads retries of many jobs without ever retrying at once.
            ticks = (ticks / 2) + (random.NextDouble() * ticks / 2);
        }

        var delay = TimeSpan.FromTicks((long)ticks);
        return retryAfter is { } after && after > delay ? after : delay;
    }
}
