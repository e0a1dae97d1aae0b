using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MediaGen.Shared;

namespace MediaGen;

/// <summary>
/// Options for the webhooks sent to a job's <see cref="GenerationRequest.WebhookUrl"/> for the events in its
/// <see cref="GenerationRequest.WebhookEvents"/>, in the Standard Webhooks format.
/// </summary>
/// <remarks>
/// Deliveries wait in the <see cref="IWebhookOutbox"/>: in memory by default (lost when the process stops), in Redis or
/// PostgreSQL with those backends, where they survive a restart and any process sharing the backend sends them. Every
/// process runs a dispatcher that leases due deliveries, so two never send one at once. The terminal delivery is written
/// in the step that ends the job (atomically where one backend owns the outbox too). Sending is at least once: receivers
/// drop repeats by <c>webhook-id</c>, which is the same on every try of one event.
/// </remarks>
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
    [StandardWebhooksSecret]
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

    /// <summary>How many deliveries this process sends at once; a slow or failing receiver holds only its own.</summary>
    /// <value>The default value is 16.</value>
    [Range(1, 1000)]
    public int MaxConcurrentDeliveries { get; set; } = 16;

    /// <summary>
    /// How many times one delivery is tried (a 5xx, 408, 429, timeout or network error is tried again later; any other
    /// answer, a 3xx included, is final). A try whose dispatcher stopped before an answer counts too. Past it the delivery
    /// is given up: kept in the outbox for <see cref="GivenUpRetention"/>, with its last error, then removed.
    /// </summary>
    /// <value>The default value is 5.</value>
    [Range(1, 20)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>
    /// The time limit of one HTTP attempt. A dispatcher holds the delivery it sends for this plus 30 seconds; a
    /// dispatcher that dies mid-send leaves it to another once that passes.
    /// </summary>
    /// <value>The default value is 10 seconds.</value>
    [TimeSpanRange("00:00:00.010", "00:05:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The delay before the second try; it doubles for each later one up to <see cref="MaxRetryDelay"/>, with jitter (a
    /// random point in the upper half), and is never shorter than a Retry-After the receiver sent.
    /// </summary>
    /// <value>The default value is 1 second.</value>
    [TimeSpanRange("00:00:00", "00:10:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest delay between two tries (a receiver's Retry-After may still be longer, up to a day).</summary>
    /// <value>The default value is 1 hour.</value>
    [TimeSpanRange("00:00:00", "1.00:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How often the dispatcher looks for due deliveries in the outbox when nothing woke it: a delivery written in this
    /// process is sent at once, one written by another process (or falling due after a retry delay) within this.
    /// </summary>
    /// <value>The default value is 1 second.</value>
    [TimeSpanRange("00:00:00.010", "00:05:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a delivery that was given up (attempts spent, or refused for good) stays in the outbox with its last
    /// error, for inspection through <see cref="IWebhookOutbox.GetAsync"/>, before it is removed. Zero removes it at once.
    /// </summary>
    /// <value>The default value is 7 days.</value>
    [TimeSpanRange("00:00:00", "90.00:00:00")]
    public TimeSpan GivenUpRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// For the in-memory outbox (the default without a shared backend): deliveries waiting or being sent, at most; past
    /// it a new delivery is refused and logged. Redis and PostgreSQL outboxes are bounded by completing and expiring.
    /// </summary>
    /// <value>The default value is 10,000.</value>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 10_000;
}

/// <summary>Validates <see cref="WebhookOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
}

/// <summary>
/// A Standard Webhooks secret's key decodes: the pattern alone lets through text of a length base64 cannot have
/// (33 characters, or 32 and a '='), which would fail only when the dispatcher is made, without naming the setting.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class StandardWebhooksSecretAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        if (value is not string secret || !secret.StartsWith("whsec_", StringComparison.Ordinal))
        {
            // Null sends unsigned; another shape is the pattern's to refuse.
            return ValidationResult.Success;
        }

        var key = new byte[secret.Length];
        return Convert.TryFromBase64String(secret["whsec_".Length..], key, out var length) && length is >= 24 and <= 64
            ? ValidationResult.Success
            : new ValidationResult(
                $"{validationContext.MemberName} must be 'whsec_' followed by the base64 of 24 to 64 bytes; this one does not decode to that.",
                validationContext.MemberName is { } member ? [member] : null);
    }
}
