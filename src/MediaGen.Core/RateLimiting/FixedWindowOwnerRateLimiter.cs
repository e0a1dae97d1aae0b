using System.Threading.RateLimiting;

namespace MediaGen.Internal;

/// <summary>
/// The per-process submission limit: at most a number of permits per owner in fixed windows aligned to multiples of the
/// window since the Unix epoch, on the <see cref="TimeProvider"/> (the built-in limiters read the machine's clock). Only
/// the current window's counts are kept, so memory follows the owners active in it.
/// </summary>
internal sealed class FixedWindowOwnerRateLimiter(int permitLimit, TimeSpan window, TimeProvider timeProvider) : PartitionedRateLimiter<string>
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);
    private readonly long _windowMs = (long)window.TotalMilliseconds;
    private long _windowIndex = long.MinValue;

    public override RateLimiterStatistics? GetStatistics(string resource)
    {
        lock (_gate)
        {
            Roll(timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
            return new RateLimiterStatistics { CurrentAvailablePermits = permitLimit - _counts.GetValueOrDefault(resource) };
        }
    }

    protected override RateLimitLease AttemptAcquireCore(string resource, int permitCount)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var nowMs = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        lock (_gate)
        {
            Roll(nowMs);
            var count = _counts.GetValueOrDefault(resource);
            if (count + permitCount > permitLimit)
            {
                return SubmissionRateLeases.Refused(TimeSpan.FromMilliseconds(((_windowIndex + 1) * _windowMs) - nowMs));
            }

            _counts[resource] = count + permitCount;
            return SubmissionRateLeases.Granted;
        }
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(string resource, int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(resource, permitCount));

    private void Roll(long nowMs)
    {
        var index = nowMs / _windowMs;
        if (index != _windowIndex)
        {
            _counts.Clear();
            _windowIndex = index;
        }
    }
}
