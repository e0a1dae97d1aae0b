namespace MediaGen;

/// <summary>
/// A generator's failure, classified: <see cref="IsTransient"/> errors are retried with backoff (honouring
/// <see cref="RetryAfter"/>), permanent ones fail the job at once.
/// </summary>
public class GenerationException : MediaGenException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errorCode">A code from <see cref="MediaGenErrorCodes"/> or a provider-specific one.</param>
    /// <param name="message">The message, including the provider's own error text where there is one.</param>
    /// <param name="isTransient">Whether a later attempt may succeed.</param>
    /// <param name="innerException">The cause.</param>
    public GenerationException(string errorCode, string message, bool isTransient, Exception? innerException = null)
        : base(errorCode, message, innerException)
    {
        IsTransient = isTransient;
    }

    /// <summary>Whether a later attempt may succeed.</summary>
    public bool IsTransient { get; }

    /// <summary>How long the provider asked callers to wait, from its Retry-After header or equivalent.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>
    /// Whether the provider rate-limited the call (HTTP 429). The worker then pauses every job of the same
    /// generator in the process for <see cref="RetryAfter"/>, not only the one that got the error.
    /// </summary>
    public bool IsRateLimited { get; init; }

    /// <summary>Whether the job's credits are given back when this error fails the job. The default is <see langword="true"/>.</summary>
    public bool IsRefundable { get; init; } = true;

    /// <summary>A transient failure that may succeed later.</summary>
    /// <param name="message">The message.</param>
    /// <param name="retryAfter">The provider's Retry-After, if any.</param>
    /// <param name="innerException">The cause.</param>
    /// <returns>The exception.</returns>
    public static GenerationException Transient(string message, TimeSpan? retryAfter = null, Exception? innerException = null) =>
        new(MediaGenErrorCodes.GeneratorTransient, message, isTransient: true, innerException) { RetryAfter = retryAfter };

    /// <summary>A provider rate limit (HTTP 429).</summary>
    /// <param name="message">The message.</param>
    /// <param name="retryAfter">The provider's Retry-After, if any.</param>
    /// <returns>The exception.</returns>
    public static GenerationException RateLimited(string message, TimeSpan? retryAfter) =>
        new(MediaGenErrorCodes.ProviderRateLimited, message, isTransient: true) { RetryAfter = retryAfter, IsRateLimited = true };

    /// <summary>A permanent failure (bad input, content filter, authentication): retrying cannot help.</summary>
    /// <param name="message">The message.</param>
    /// <param name="errorCode">The code; <see cref="MediaGenErrorCodes.GeneratorPermanent"/> by default.</param>
    /// <param name="innerException">The cause.</param>
    /// <returns>The exception.</returns>
    public static GenerationException Permanent(string message, string errorCode = MediaGenErrorCodes.GeneratorPermanent, Exception? innerException = null) =>
        new(errorCode, message, isTransient: false, innerException);
}
