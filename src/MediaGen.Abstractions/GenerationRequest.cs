using System.Text.Json;

namespace MediaGen;

/// <summary>What a caller asks to have generated. Immutable; validated at submission against the model's rules.</summary>
public sealed record GenerationRequest
{
    /// <summary>The longest prompt accepted, in characters.</summary>
    public const int MaxPromptLength = 2000;

    /// <summary>The text prompt: 1 to <see cref="MaxPromptLength"/> characters, not blank.</summary>
    public required string Prompt { get; init; }

    /// <summary>What the image should not contain, for models that accept it.</summary>
    public string? NegativePrompt { get; init; }

    /// <summary>The id of a model some registered <see cref="IMediaGenerator"/> serves.</summary>
    public required string Model { get; init; }

    /// <summary>The owner the job and its credits belong to. Set by the host from the caller's identity, never from the request body.</summary>
    public required string OwnerId { get; init; }

    /// <summary>The typed settings common to most models.</summary>
    public GenerationSettings Settings { get; init; } = GenerationSettings.Default;

    /// <summary>Model-specific values (for example <c>guidance</c> or <c>steps</c>), checked against the model's <see cref="ModelParameterRule"/>s.</summary>
    public IReadOnlyDictionary<string, JsonElement>? Parameters { get; init; }

    /// <summary>
    /// A caller-chosen key that makes submission idempotent per owner: the same key returns the same job and
    /// charges once. At most 255 characters.
    /// </summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>
    /// An absolute http(s) URL on a public host to notify of the events in <see cref="WebhookEvents"/>. URLs naming a
    /// loopback, private, link-local or otherwise non-public address, carrying credentials, or resolving to such an
    /// address when called, are refused.
    /// </summary>
    public Uri? WebhookUrl { get; init; }

    /// <summary>Which events are sent to <see cref="WebhookUrl"/>.</summary>
    /// <value>The default value is <see cref="WebhookEventFilter.Completed"/>.</value>
    public WebhookEventFilter WebhookEvents { get; init; } = WebhookEventFilter.Completed;

    /// <summary>The queue priority.</summary>
    public JobPriority Priority { get; init; } = JobPriority.Normal;

    /// <summary>
    /// Whether this request may be served from the result cache: <see langword="true"/> to opt in (where the host allows
    /// requests to), <see langword="false"/> to opt out of a model's caching, null for the model's default. Only a request
    /// with a fixed <see cref="GenerationSettings.Seed"/> is ever cached. Not part of the work asked for
    /// (<see cref="IsSameWorkAs"/>).
    /// </summary>
    public bool? UseResultCache { get; init; }

    /// <summary>
    /// How many outputs the request asks for: <see cref="GenerationSettings.OutputCount"/>, or one when it is unset. The job
    /// is charged for this many (<see cref="ModelDescriptor.GetCost"/>) and a generator produces this many.
    /// </summary>
    /// <returns>The number of outputs.</returns>
    public int GetOutputCount() => Settings?.OutputCount ?? 1;

    /// <summary>Returns <see langword="true"/> when <paramref name="other"/> asks for the same work (everything but the idempotency key and priority).</summary>
    /// <param name="other">The request to compare with.</param>
    /// <returns>Whether both requests would produce the same job.</returns>
    public bool IsSameWorkAs(GenerationRequest other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return string.Equals(Prompt, other.Prompt, StringComparison.Ordinal)
            && string.Equals(NegativePrompt, other.NegativePrompt, StringComparison.Ordinal)
            && string.Equals(Model, other.Model, StringComparison.Ordinal)
            && string.Equals(OwnerId, other.OwnerId, StringComparison.Ordinal)
            && Settings == other.Settings
            && ParametersEqual(Parameters, other.Parameters)
            && Equals(WebhookUrl, other.WebhookUrl)
            && WebhookEvents == other.WebhookEvents;
    }

    private static bool ParametersEqual(IReadOnlyDictionary<string, JsonElement>? a, IReadOnlyDictionary<string, JsonElement>? b)
    {
        var countA = a?.Count ?? 0;
        var countB = b?.Count ?? 0;
        if (countA != countB)
        {
            return false;
        }

        if (countA == 0)
        {
            return true;
        }

        foreach (var (key, value) in a!)
        {
            if (!b!.TryGetValue(key, out var otherValue) || !JsonEquals(value, otherValue))
            {
                return false;
            }
        }

        return true;
    }

#if NET9_0_OR_GREATER
    private static bool JsonEquals(JsonElement a, JsonElement b) => JsonElement.DeepEquals(a, b);
#else
    private static bool JsonEquals(JsonElement a, JsonElement b) =>
        a.ValueKind == b.ValueKind && string.Equals(a.GetRawText(), b.GetRawText(), StringComparison.Ordinal);
#endif
}

/// <summary>The events a job's webhook receives, as Replicate's <c>webhook_events_filter</c>.</summary>
[Flags]
public enum WebhookEventFilter
{
    /// <summary>No events.</summary>
    None = 0,

    /// <summary>Each attempt's start (<c>job.started</c>).</summary>
    Start = 1,

    /// <summary>Each stored output (<c>job.output</c>).</summary>
    Output = 2,

    /// <summary>The terminal status: <c>job.succeeded</c>, <c>job.failed</c> or <c>job.canceled</c>.</summary>
    Completed = 4,

    /// <summary>Every event above.</summary>
    All = Start | Output | Completed,
}

/// <summary>Settings most text-to-image models share. A null value means the model's default.</summary>
public sealed record GenerationSettings
{
    /// <summary>Settings with every value left to the model.</summary>
    public static GenerationSettings Default { get; } = new();

    /// <summary>Output width in pixels. Mutually exclusive with <see cref="AspectRatio"/>.</summary>
    public int? Width { get; init; }

    /// <summary>Output height in pixels. Mutually exclusive with <see cref="AspectRatio"/>.</summary>
    public int? Height { get; init; }

    /// <summary>An aspect ratio such as <c>1:1</c> or <c>16:9</c>. Mutually exclusive with <see cref="Width"/> and <see cref="Height"/>.</summary>
    public string? AspectRatio { get; init; }

    /// <summary>
    /// How many images to generate; null asks for one. Each is charged the model's <see cref="ModelDescriptor.CostCredits"/>.
    /// </summary>
    public int? OutputCount { get; init; }

    /// <summary>The image encoding.</summary>
    public OutputFormat? OutputFormat { get; init; }

    /// <summary>The random seed, for reproducible output.</summary>
    public long? Seed { get; init; }
}
