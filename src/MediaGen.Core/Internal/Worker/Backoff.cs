using Polly;

namespace MediaGen.Internal;

/// <summary>
/// The one backoff MediaGen waits by: before a job's next attempt (<see cref="MediaGenerationWorkerOptions.Retry"/>),
/// before the worker receives again after the queue failed, and before a background subscription tries the backend
/// again.
/// </summary>
/// <remarks>
/// For the n-th failure in a row (n ≥ 1) the delay is <see cref="Delay"/> (constant), <see cref="Delay"/> × n (linear)
/// or <see cref="Delay"/> × 2^(n-1) (exponential, Polly's <see cref="DelayBackoffType"/>), capped at
/// <see cref="MaxDelay"/>. With jitter it is a uniformly random point in the upper half of that: half fixed, half
/// random, so many waiters spread out without any retrying at once. It is never shorter than a Retry-After the other
/// side asked for.
/// </remarks>
/// <param name="Delay">The first delay.</param>
/// <param name="MaxDelay">The longest delay (a Retry-After may still be longer).</param>
/// <param name="Type">How the delay grows.</param>
/// <param name="UseJitter">Whether to randomize the upper half.</param>
internal readonly record struct Backoff(TimeSpan Delay, TimeSpan MaxDelay, DelayBackoffType Type = DelayBackoffType.Exponential, bool UseJitter = false)
{
    /// <summary>The backoff of a job's attempts, from its options.</summary>
    public static Backoff For(JobRetryBackoffOptions options) => new(options.Delay, options.MaxDelay, options.BackoffType, options.UseJitter);

    /// <summary>The delay after the <paramref name="failures"/>-th failure in a row.</summary>
    /// <param name="failures">Failures so far, at least 1 (lower counts as 1).</param>
    /// <param name="retryAfter">A wait the other side asked for, or null.</param>
    /// <param name="random">The jitter's source; <see cref="Random.Shared"/> when null.</param>
    /// <returns>The delay.</returns>
    public TimeSpan DelayFor(int failures, TimeSpan? retryAfter = null, Random? random = null)
    {
        var baseTicks = (double)Delay.Ticks;
        var n = Math.Max(1, failures);
        var ticks = Type switch
        {
            DelayBackoffType.Constant => baseTicks,
            DelayBackoffType.Linear => baseTicks * n,
            _ => baseTicks * Math.Pow(2, Math.Min(n - 1, 30)),
        };
        ticks = Math.Min(ticks, MaxDelay.Ticks);
        if (UseJitter)
        {
            ticks = (ticks / 2) + ((random ?? Random.Shared).NextDouble() * ticks / 2);
        }

        var delay = TimeSpan.FromTicks((long)ticks);
        return retryAfter is { } after && after > delay ? after : delay;
    }
}
