using System.Threading.RateLimiting;

namespace MediaGen;

/// <summary>
/// The leases a submission rate limiter hands out (see <see cref="MediaGenerationOptions.SubmissionsPerOwner"/>), for
/// backends that share the limit through their own store: granted, or refused with the
/// <see cref="MetadataName.RetryAfter"/> the caller is told.
/// </summary>
public static class SubmissionRateLeases
{
    /// <summary>A granted lease.</summary>
    public static RateLimitLease Granted { get; } = new Lease(null);

    /// <summary>A refused lease carrying <paramref name="retryAfter"/>.</summary>
    /// <param name="retryAfter">When the owner's window has room again.</param>
    /// <returns>The lease.</returns>
    public static RateLimitLease Refused(TimeSpan retryAfter) => new Lease(retryAfter);

    private sealed class Lease(TimeSpan? retryAfter) : RateLimitLease
    {
        private static readonly string[] RetryAfterName = [MetadataName.RetryAfter.Name];

        public override bool IsAcquired => retryAfter is null;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : RetryAfterName;

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = retryAfter;
            return retryAfter is not null && metadataName == MetadataName.RetryAfter.Name;
        }
    }
}
