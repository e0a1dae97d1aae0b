using System.Threading.RateLimiting;

namespace MediaGen.Internal;

/// <summary>
/// The limiter behind <see cref="MediaGenerationOptions.SubmissionsPerOwner"/>, partitioned by owner id: per process by
/// default (<see cref="FixedWindowOwnerRateLimiter"/>), shared through the backend where one offers it. Created on first
/// use, so a host without the limit never builds it.
/// </summary>
internal sealed class SubmissionRateLimiter(Func<PartitionedRateLimiter<string>> create)
{
    private readonly Lazy<PartitionedRateLimiter<string>> _limiter = new(create);

    public PartitionedRateLimiter<string> Limiter => _limiter.Value;
}
