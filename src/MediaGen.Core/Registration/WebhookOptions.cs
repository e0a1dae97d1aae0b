using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MediaGen.Shared;

namespace MediaGen;

/// <summary>
/// Options for the webhooks sent to a job's <see cref="GenerationRequest.WebhookUrl"/> for the events in its
/// <see cref="GenerationRequest.WebhookEvents"/>, in the Standard Webhooks format.
/// </summary>
public sealed class WebhookOptions
{
    /// <summary>Whether webhooks are sent at all.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The Standard Webhooks signing secret, <c>whsec_</c> followed by the base64 of 24 to 64 random bytes. Each delivery
    /// carries <c>webhook-id</c>, <c>webhook-timestamp</c> and <c>webhook-signature: v1,{base64 HMAC-SHA256 of
    /// "{id}.{timestamp}.{body}"}</c>, which any Standard Webhooks library verifies. Null sends the same headers unsigned.
    /// </summary>
    /// <value>The default value is null.</value>
    [RegularExpression("^whsec_[A-Za-z0-9+/]{32,88}={0,2}$")]
    public string? SigningSecret { get; set; }

    /// <summary>
    /// Hosts (names or addresses, as written in webhook URLs) that may be loopback or otherwise non-public, for a
    /// development machine whose receiver runs locally. Every other host must be, and resolve to, a public address.
    /// Leave it empty in production.
    /// </summary>
    /// <value>The default value is empty.</value>
    public IList<string> AllowedNonPublicHosts { get; } = [];

    /// <summary>
    /// The absolute URL relative output URLs (file-system storage served by the host) are resolved against in webhook
    /// bodies, so a receiver elsewhere can fetch them. The HTTP API sets it from its own public base URL.
    /// </summary>
    /// <value>The default value is null: relative URLs stay relative.</value>
    public Uri? PublicBaseUrl { get; set; }

    /// <summary>How many deliveries are sent at once; a slow or failing receiver holds only its own.</summary>
    /// <value>The default value is 16.</value>
    [Range(1, 1000)]
    public int MaxConcurrentDeliveries { get; set; } = 16;

    /// <summary>How many times one delivery is attempted (a 5xx, 408, 429 or network error is retried; a 3xx is not followed).</summary>
    /// <value>The default value is 5.</value>
    [Range(1, 20)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The time limit of one HTTP attempt.</summary>
    /// <value>The default value is 10 seconds.</value>
    [TimeSpanRange("00:00:00.010", "00:05:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The delay before the second attempt; it doubles for each later one.</summary>
    /// <value>The default value is 1 second.</value>
    [TimeSpanRange("00:00:00", "00:10:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Notifications waiting to be sent, at most; past it the oldest waiting one is dropped and logged.</summary>
    /// <value>The default value is 10,000.</value>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 10_000;
}

/// <summary>Validates <see cref="WebhookOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
}
