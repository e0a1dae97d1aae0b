using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Microsoft.Extensions.Options;
using MediaGen.Shared;

namespace MediaGen;

/// <summary>Options for MediaGen's HTTP API (<c>AddHttpApi</c> and <c>MapMediaGeneration</c>).</summary>
public sealed class MediaGenerationApiOptions
{
    /// <summary>
    /// The claim types that name a request's owner, tried in order on the authenticated user; the first one present
    /// with a value is the owner. A request whose user has none of them is answered 401.
    /// </summary>
    /// <value>The default value is <see cref="ClaimTypes.NameIdentifier"/>, then <c>sub</c>.</value>
    [MinimumLength(1)]
    public IList<string> OwnerClaimTypes { get; set; } = [ClaimTypes.NameIdentifier, "sub"];

    /// <summary>
    /// The largest request body the API reads, in bytes; a larger one is answered 413 (<c>request_too_large</c>)
    /// before it is parsed. A submission is a prompt of at most 2,000 characters and a few settings, so the default
    /// leaves ample room for model parameters.
    /// </summary>
    /// <value>The default value is 65,536 (64 KiB).</value>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxRequestBodyBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// The most field errors a 400 response lists; the response's <c>errorCount</c> says how many there were, so a
    /// response stays small whatever the request.
    /// </summary>
    /// <value>The default value is 20.</value>
    [Range(1, 1000)]
    public int MaxValidationErrors { get; set; } = 20;

    /// <summary>How long an idle event stream waits before it sends a comment line, so proxies keep it open.</summary>
    /// <value>The default value is 15 seconds.</value>
    [TimeSpanRange("00:00:00.010", "00:10:00")]
    public TimeSpan SseKeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How often an event stream of a pending job asks the queue for the job's position, and sends <c>event: position</c>
    /// when it changed (queues that cannot tell, such as Service Bus, send none).
    /// </summary>
    /// <value>The default value is 2 seconds.</value>
    [TimeSpanRange("00:00:00.010", "00:10:00")]
    public TimeSpan SseQueuePositionInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The absolute URL clients reach this host at, such as <c>https://api.example.com/</c>; relative output URLs in
    /// responses and webhooks are resolved against it (it sets <see cref="WebhookOptions.PublicBaseUrl"/> when that is
    /// unset). Null resolves responses' URLs against the request's own scheme, host and path base, and leaves webhooks'
    /// relative: set it when webhooks carry file-system outputs, and behind a proxy.
    /// </summary>
    /// <value>The default value is null.</value>
    public Uri? PublicBaseUrl { get; set; }

    /// <summary>The reconnection delay the event stream asks clients for (its <c>retry:</c> field).</summary>
    /// <value>The default value is 3 seconds.</value>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan SseReconnectionInterval { get; set; } = TimeSpan.FromSeconds(3);
}

/// <summary>Validates <see cref="MediaGenerationApiOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class MediaGenerationApiOptionsValidator : IValidateOptions<MediaGenerationApiOptions>
{
}
