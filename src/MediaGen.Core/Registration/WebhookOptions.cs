using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MediaGen;

/// <summary>Options for webhook notifications sent when a job with a <see cref="GenerationRequest.WebhookUrl"/> finishes.</summary>
public sealed class WebhookOptions
{
    /// <summary>Whether webhooks are sent at all.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// A secret to sign each body with HMAC-SHA256; the signature goes in the <c>MediaGen-Signature</c> header as
    /// <c>t={unix seconds},v1={hex}</c> over <c>{t}.{body}</c>. Null sends unsigned webhooks.
    /// </summary>
    /// <value>The default value is null.</value>
    public string? SigningSecret { get; set; }

    /// <summary>How many times one notification is attempted.</summary>
    /// <value>The default value is 5.</value>
    [Range(1, 20)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The time limit of one HTTP attempt.</summary>
    /// <value>The default value is 10 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:05:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The delay before the second attempt; it doubles for each later one.</summary>
    /// <value>The default value is 1 second.</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
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
