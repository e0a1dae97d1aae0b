using System.Net;

namespace MediaGen.Generators.Http;

/// <summary>One kind of call to a provider's API, as <see cref="ProviderHttpClient.SendAsync"/> makes it and its messages name it.</summary>
/// <param name="Operation">What the call does, for example <c>create</c>.</param>
/// <param name="Subject">What it is about, for example <c>model 'flux-dev' (black-forest-labs/flux-dev)</c>.</param>
public sealed record ProviderCall(string Operation, string Subject)
{
    /// <summary>The call's timeout; null for <see cref="HttpGeneratorOptions.RequestTimeout"/>.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Whether a 404 is an answer (returned) rather than a failure.</summary>
    public bool NotFoundIsResult { get; init; }

    /// <summary>
    /// Whether sending the call twice does no harm. When false (a create that pays for work, say), the call is retried
    /// only after failures that prove the provider never received it: a 429, or a connection that could not be opened.
    /// A failure after the request may have arrived (a timeout, a dropped connection, a 408 or 5xx answer) is thrown at
    /// once as a transient <see cref="GenerationException"/> with the code <see cref="MediaGenErrorCodes.OutcomeUnknown"/>,
    /// for the provider to find out whether the call took effect before it sends it again.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool IsIdempotent { get; init; } = true;

    /// <summary>
    /// Reads a successful response before the call completes, inside the call's timeout, and may replace its content
    /// (to hold a body in memory, say). Null leaves the body to <see cref="HttpCompletionOption.ResponseContentRead"/>.
    /// A <see cref="GenerationException"/> it throws ends the call; an <see cref="IOException"/> is retried.
    /// </summary>
    public Func<HttpResponseMessage, CancellationToken, ValueTask>? ReadSuccessAsync { get; init; }

    /// <summary>
    /// Runs before each try is sent, after the wait at the <see cref="ProviderRateGate"/> (which may be long): a create
    /// that must later be looked up records here when it really left. An exception it throws ends the call unsent.
    /// </summary>
    public Func<CancellationToken, ValueTask>? BeforeSendAsync { get; init; }
}

/// <summary>An error answer from a provider, for the provider's own classification.</summary>
public sealed class ProviderFailure
{
    /// <summary>The call that failed.</summary>
    public required ProviderCall Call { get; init; }

    /// <summary>The HTTP status.</summary>
    public required HttpStatusCode Status { get; init; }

    /// <summary>The body as text, at most 8 KiB of it.</summary>
    public required string Body { get; init; }

    /// <summary>The provider's error text picked out of <see cref="Body"/> (or the reason phrase), shortened.</summary>
    public required string Text { get; init; }

    /// <summary>The response's Retry-After as a delay from now, if any.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>Whether the status is worth retrying by HTTP's rules (408, 429, 5xx).</summary>
    public bool IsTransientStatus => ProviderResponses.IsTransient(Status);
}

/// <summary>A retry <see cref="ProviderHttpClient"/> is about to make.</summary>
/// <param name="Call">The call.</param>
/// <param name="Failure">Why, when the provider answered; null after a network error or timeout.</param>
/// <param name="Delay">How long it waits first.</param>
/// <param name="Retry">Which retry this is, from 1.</param>
/// <param name="MaxRetries">How many retries are allowed.</param>
public sealed record ProviderRetry(ProviderCall Call, GenerationException? Failure, TimeSpan Delay, int Retry, int MaxRetries);
