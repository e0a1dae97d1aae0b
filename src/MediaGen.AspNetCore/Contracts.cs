using System.Text.Json;

namespace MediaGen.AspNetCore;

/// <summary>The body of <c>POST /api/v1/generations</c>.</summary>
public sealed record CreateGenerationBody
{
    /// <summary>The text prompt, 1 to 2000 characters.</summary>
    public string? Prompt { get; init; }

    /// <summary>What the image should not contain, for models that accept it.</summary>
    public string? NegativePrompt { get; init; }

    /// <summary>A model id from <c>GET /api/v1/models</c>.</summary>
    public string? Model { get; init; }

    /// <summary>Width in pixels (with <see cref="Height"/>); not with <see cref="AspectRatio"/>.</summary>
    public int? Width { get; init; }

    /// <summary>Height in pixels (with <see cref="Width"/>).</summary>
    public int? Height { get; init; }

    /// <summary>An aspect ratio such as <c>16:9</c>.</summary>
    public string? AspectRatio { get; init; }

    /// <summary>How many images; one when unset. Each is charged the model's cost.</summary>
    public int? OutputCount { get; init; }

    /// <summary>The image format.</summary>
    public OutputFormat? OutputFormat { get; init; }

    /// <summary>The seed, for reproducible images.</summary>
    public long? Seed { get; init; }

    /// <summary>Model-specific values.</summary>
    public Dictionary<string, JsonElement>? Parameters { get; init; }

    /// <summary>An absolute http(s) URL on a public host to notify of the events in <see cref="WebhookEventsFilter"/>.</summary>
    public string? WebhookUrl { get; init; }

    /// <summary>Which events the webhook receives: any of <c>start</c>, <c>output</c>, <c>completed</c>; only <c>completed</c> when unset.</summary>
    public string[]? WebhookEventsFilter { get; init; }

    /// <summary>The queue priority.</summary>
    public JobPriority? Priority { get; init; }

    /// <summary>
    /// <see langword="true"/> to be served from the result cache when an identical request (with the same fixed
    /// <see cref="Seed"/>) succeeded before; <see langword="false"/> to opt out of a model's caching; unset for the
    /// model's default.
    /// </summary>
    public bool? UseResultCache { get; init; }
}

/// <summary>A job as the API returns it.</summary>
public sealed record JobResponse
{
    /// <summary>The job id.</summary>
    public required string Id { get; init; }

    /// <summary>The status.</summary>
    public required JobStatus Status { get; init; }

    /// <summary>The model.</summary>
    public required string Model { get; init; }

    /// <summary>The prompt.</summary>
    public required string Prompt { get; init; }

    /// <summary>The negative prompt.</summary>
    public string? NegativePrompt { get; init; }

    /// <summary>The settings asked for.</summary>
    public required GenerationSettings Settings { get; init; }

    /// <summary>Model-specific values asked for.</summary>
    public IReadOnlyDictionary<string, JsonElement>? Parameters { get; init; }

    /// <summary>The queue priority.</summary>
    public JobPriority Priority { get; init; }

    /// <summary>The idempotency key the job was submitted with.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>The webhook URL.</summary>
    public string? WebhookUrl { get; init; }

    /// <summary>The events the webhook receives (<c>start</c>, <c>output</c>, <c>completed</c>); absent without a webhook URL.</summary>
    public IReadOnlyList<string>? WebhookEventsFilter { get; init; }

    /// <summary>Attempts started so far in the current run.</summary>
    public int Attempt { get; init; }

    /// <summary>The run: 1 as submitted, one more after each retry (each run is charged on its own).</summary>
    public int Run { get; init; } = 1;

    /// <summary>Progress of the running attempt, from 0 to 1.</summary>
    public double Progress { get; init; }

    /// <summary>A short description of the progress.</summary>
    public string? ProgressMessage { get; init; }

    /// <summary>When the job was accepted.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the job was last written.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>When the first attempt started.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When the job finished.</summary>
    public DateTimeOffset? CompletedAt { get; init; }

    /// <summary>When a scheduled retry is due.</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }

    /// <summary>The stored outputs; an output that failed leaves a gap in their indexes.</summary>
    public IReadOnlyList<OutputResponse> Outputs { get; init; } = [];

    /// <summary>The outputs the generator could not deliver, whose share of the charge was refunded.</summary>
    public IReadOnlyList<OutputFailure> FailedOutputs { get; init; } = [];

    /// <summary>The last error.</summary>
    public JobError? Error { get; init; }

    /// <summary>Credits reserved for the job: the model's cost per image times the images asked for.</summary>
    public long CreditsCharged { get; init; }

    /// <summary>Credits given back: all after a failure or cancel, the failed outputs' share after a partial success.</summary>
    public long CreditsRefunded { get; init; }

    /// <summary>Whether a cancel was asked for while the job was running.</summary>
    public bool CancelRequested { get; init; }

    /// <summary>
    /// Whether the job was served from the result cache: succeeded at once with copies of an earlier identical job's
    /// images, charged the cache-hit price, without a provider call.
    /// </summary>
    public bool CacheHit { get; init; }
}

/// <summary>One stored output.</summary>
/// <param name="Index">Its position, from 0.</param>
/// <param name="Url">Where to read it.</param>
/// <param name="ContentType">Its MIME type.</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="Width">Its width in pixels.</param>
/// <param name="Height">Its height in pixels.</param>
/// <param name="ThumbnailUrl">Where to read its thumbnail, when thumbnails are made (<c>AddSkiaSharpThumbnails</c>); null otherwise.</param>
public sealed record OutputResponse(int Index, string? Url, string ContentType, long Size, int? Width, int? Height, string? ThumbnailUrl = null);

/// <summary>One page of jobs.</summary>
/// <param name="Items">The jobs, newest first.</param>
/// <param name="NextCursor">Pass as <c>cursor</c> for the next page; null on the last.</param>
public sealed record JobListResponse(IReadOnlyList<JobResponse> Items, string? NextCursor);

/// <summary>A model in the catalog.</summary>
/// <param name="Id">The id to submit.</param>
/// <param name="DisplayName">A display name.</param>
/// <param name="CostCredits">What one output (image) costs; a job pays it per image asked for.</param>
/// <param name="ExpectedSeconds">How long a job usually takes.</param>
/// <param name="Settings">The settings it accepts.</param>
public sealed record ModelResponse(string Id, string DisplayName, long CostCredits, double ExpectedSeconds, ModelSettingsRules Settings);

/// <summary>The caller's credits.</summary>
/// <param name="OwnerId">The owner.</param>
/// <param name="Balance">The balance.</param>
public sealed record CreditsResponse(string OwnerId, long Balance);

/// <summary>A pending job's place in the queue, as the events stream sends it (<c>event: position</c>).</summary>
/// <param name="JobId">The job.</param>
/// <param name="Position">How many queued jobs would start before it if workers took them now; 0 for the next one.</param>
public sealed record QueuePositionResponse(string JobId, long Position);

/// <summary>A job event as the events stream sends it.</summary>
public sealed record JobEventResponse
{
    /// <summary>What happened.</summary>
    public required JobEventType Type { get; init; }

    /// <summary>The job.</summary>
    public required string JobId { get; init; }

    /// <summary>The event's number within its job, also its server-sent event id (resume with <c>Last-Event-ID</c>).</summary>
    public long? Sequence { get; init; }

    /// <summary>When.</summary>
    public DateTimeOffset Timestamp { get; init; }

    /// <summary>The job's status after the event.</summary>
    public JobStatus Status { get; init; }

    /// <summary>The attempt.</summary>
    public int Attempt { get; init; }

    /// <summary>Progress from 0 to 1.</summary>
    public double? Progress { get; init; }

    /// <summary>A short description.</summary>
    public string? Message { get; init; }

    /// <summary>The stored output, for <c>outputStored</c>.</summary>
    public OutputResponse? Output { get; init; }

    /// <summary>The error, for <c>retrying</c> and <c>failed</c>.</summary>
    public JobError? Error { get; init; }
}
