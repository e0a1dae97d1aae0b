using System.Text.Json.Serialization;

namespace MediaGen;

/// <summary>
/// The persisted record of one generation: the source of truth for its status. Immutable; a change is a new
/// instance written with <see cref="IJobStore.UpdateAsync"/> under optimistic concurrency on <see cref="Version"/>.
/// </summary>
public sealed record GenerationJob
{
    // The instants are kept as UTC ticks (the nullable ones as ticks + 1, 0 for none): 8 bytes each instead of 16
    // for a DateTimeOffset and 24 for a nullable one. A job is copied at every step, so this is most of its size.
    private long _createdAt;
    private long _updatedAt;
    private long _startedAt;
    private long _completedAt;
    private long _deadline;
    private long _leaseExpiresAt;

    // What most jobs never set, or set once near their end (a retry's time, failed outputs, an error, a refund, a progress
    // message, a checkpoint, a cancel request, a cache hit, a delete begun), lives apart: a copy carries one reference for
    // all of it. The part is shared by the copies and never changed; an init that gives one of its values a new one makes
    // a new part.
    private RareFields _rare = RareFields.None;

    /// <summary>The job id: 32 lowercase hex characters, unique across owners.</summary>
    public required string Id { get; init; }

    /// <summary>The request the job was created from.</summary>
    public required GenerationRequest Request { get; init; }

    /// <summary>The owner; the same as <see cref="GenerationRequest.OwnerId"/>.</summary>
    [JsonIgnore]
    public string OwnerId => Request.OwnerId;

    /// <summary>The current status.</summary>
    public JobStatus Status { get; init; } = JobStatus.Pending;

    /// <summary>How many attempts of the current run have started (0 until a worker first picks the job up).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int Attempt { get; init; }

    /// <summary>
    /// Which run of the job this is: 1 as submitted, one more each time a Failed or Canceled job is retried
    /// (<see cref="IMediaGenerationClient.RetryAsync"/>). Each run is charged, and settled, on its own.
    /// </summary>
    /// <value>The default value is 1.</value>
    public int Run { get; init; } = 1;

    /// <summary>
    /// The id of the current run: the job id for the first run, <c>{id}.{run}</c> after a retry. It keys what belongs to
    /// one run: its credit reservation, its queue message and its cancel signal. See <see cref="FormatRunId"/>.
    /// </summary>
    [JsonIgnore]
    public string RunId => FormatRunId(Id, Run);

    /// <summary>When the job was accepted.</summary>
    /// <remarks>A job's instants are kept in UTC: an instant given with another offset reads back as the same instant at offset zero.</remarks>
    public required DateTimeOffset CreatedAt { get => Instant(_createdAt); init => _createdAt = value.UtcTicks; }

    /// <summary>When the job was last written.</summary>
    public DateTimeOffset UpdatedAt { get => Instant(_updatedAt); init => _updatedAt = value.UtcTicks; }

    /// <summary>When the first attempt started.</summary>
    public DateTimeOffset? StartedAt { get => OptionalInstant(_startedAt); init => _startedAt = Ticks(value); }

    /// <summary>When the job reached a terminal status.</summary>
    public DateTimeOffset? CompletedAt { get => OptionalInstant(_completedAt); init => _completedAt = Ticks(value); }

    /// <summary>When a scheduled retry is due, while the job waits in <see cref="JobStatus.Pending"/> after a failed attempt.</summary>
    public DateTimeOffset? NextAttemptAt
    {
        get => OptionalInstant(_rare.NextAttemptAt);
        init
        {
            if (Ticks(value) is var ticks && ticks != _rare.NextAttemptAt)
            {
                _rare = _rare with { NextAttemptAt = ticks };
            }
        }
    }

    /// <summary>After this instant the job is failed instead of attempted again.</summary>
    public DateTimeOffset? Deadline { get => OptionalInstant(_deadline); init => _deadline = Ticks(value); }

    /// <summary>
    /// The stored outputs, in index order. Empty until the job succeeds. An output that failed leaves a gap in the
    /// indexes and is listed in <see cref="FailedOutputs"/> instead.
    /// </summary>
    public IReadOnlyList<JobOutput> Outputs { get; init; } = [];

    /// <summary>
    /// The outputs of a succeeded job that its generator could not deliver, by index; their share of
    /// <see cref="CreditsCharged"/> is in <see cref="CreditsRefunded"/>. Empty when every output was delivered.
    /// </summary>
    public IReadOnlyList<OutputFailure> FailedOutputs
    {
        get => _rare.FailedOutputs;
        init
        {
            // Any empty list is kept as the shared empty one: a job with no failed outputs needs no part of its own for them.
            var failed = value is { Count: 0 } ? RareFields.None.FailedOutputs : value;
            if (!ReferenceEquals(failed, _rare.FailedOutputs))
            {
                _rare = _rare with { FailedOutputs = failed };
            }
        }
    }

    /// <summary>The last error: the reason for <see cref="JobStatus.Failed"/>, or the error of the attempt a pending retry follows.</summary>
    public JobError? Error { get => _rare.Error; init => _rare = _rare.Error == value ? _rare : _rare with { Error = value }; }

    /// <summary>Credits reserved for the job: the model's cost per output times the outputs asked for.</summary>
    public long CreditsCharged { get; init; }

    /// <summary>Credits given back: all of them after a failure or a cancel, the failed outputs' share after a partial success.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long CreditsRefunded { get => _rare.CreditsRefunded; init => _rare = _rare.CreditsRefunded == value ? _rare : _rare with { CreditsRefunded = value }; }

    /// <summary>Progress of the running attempt, from 0 to 1.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public double Progress { get; init; }

    /// <summary>A short, human-readable description of the current progress.</summary>
    public string? ProgressMessage { get => _rare.ProgressMessage; init => _rare = _rare.ProgressMessage == value ? _rare : _rare with { ProgressMessage = value }; }

    /// <summary>
    /// The generator's provider-side handle (for example a Replicate prediction id), saved before it waits, so an
    /// attempt after a crash resumes the provider's work instead of paying for it again.
    /// </summary>
    public string? Checkpoint { get => _rare.Checkpoint; init => _rare = _rare.Checkpoint == value ? _rare : _rare with { Checkpoint = value }; }

    /// <summary>
    /// Set when the owner asked to cancel a job that was already processing; the worker running it finishes the cancel.
    /// A job that finished before the cancel landed keeps the flag, as a record that a cancel was asked for.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool CancelRequested { get => _rare.CancelRequested; init => _rare = _rare.CancelRequested == value ? _rare : _rare with { CancelRequested = value }; }

    /// <summary>
    /// Set on a finished job when its owner's delete (<see cref="IMediaGenerationClient.DeleteAsync"/>) begins, before its
    /// outputs and record are removed: a marked job is never run again (<see cref="IMediaGenerationClient.RetryAsync"/>
    /// refuses it), so what the delete removes is the run it checked. A job still stored with the mark is one whose delete
    /// was interrupted; deleting it again finishes the removal.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool DeleteRequested { get => _rare.DeleteRequested; init => _rare = _rare.DeleteRequested == value ? _rare : _rare with { DeleteRequested = value }; }

    /// <summary>
    /// Which delivery runs the current attempt (a worker's id and an attempt token), while <see cref="Status"/> is
    /// <see cref="JobStatus.Processing"/>; null otherwise. Only the holder writes the attempt's progress and outcome.
    /// </summary>
    public string? LeaseHolder { get; init; }

    /// <summary>
    /// Until when <see cref="LeaseHolder"/> owns the run: the end of its queue lease, extended at each renewal. Once it
    /// has passed, a redelivery of the job takes the run over; before that, another delivery is a duplicate and is dropped.
    /// </summary>
    public DateTimeOffset? LeaseExpiresAt { get => OptionalInstant(_leaseExpiresAt); init => _leaseExpiresAt = Ticks(value); }

    /// <summary>
    /// Whether the job was served from the result cache: created <see cref="JobStatus.Succeeded"/> at once, with copies of
    /// the outputs of an earlier identical job (stored under this job's own keys), charged the cache-hit price, without
    /// calling a provider. Which job it was copied from is not recorded: it may belong to another owner.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool CacheHit { get => _rare.CacheHit; init => _rare = _rare.CacheHit == value ? _rare : _rare with { CacheHit = value }; }

    /// <summary>The optimistic concurrency version; every successful update increments it by one.</summary>
    public long Version { get; init; }

    /// <summary>The rarely set fields; see <c>_rare</c>.</summary>
    private sealed record RareFields
    {
        public static readonly RareFields None = new();

        public long NextAttemptAt { get; init; }

        public IReadOnlyList<OutputFailure> FailedOutputs { get; init; } = [];

        public JobError? Error { get; init; }

        public long CreditsRefunded { get; init; }

        public string? ProgressMessage { get; init; }

        public string? Checkpoint { get; init; }

        public bool CancelRequested { get; init; }

        public bool CacheHit { get; init; }

        public bool DeleteRequested { get; init; }
    }

    private static DateTimeOffset Instant(long utcTicks) => new(utcTicks, TimeSpan.Zero);

    private static DateTimeOffset? OptionalInstant(long stored) => stored == 0 ? null : new DateTimeOffset(stored - 1, TimeSpan.Zero);

    private static long Ticks(DateTimeOffset? value) => value is { } instant ? instant.UtcTicks + 1 : 0;

    /// <summary>The id of run <paramref name="run"/> of job <paramref name="jobId"/>: the job id for run 1, <c>{jobId}.{run}</c> after.</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="run">The run, from 1.</param>
    /// <returns>The run id.</returns>
    public static string FormatRunId(string jobId, int run)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        return run <= 1 ? jobId : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{jobId}.{run}");
    }
}

/// <summary>One stored output of a job.</summary>
public sealed record JobOutput
{
    /// <summary>The output's position, from 0.</summary>
    public required int Index { get; init; }

    /// <summary>The storage key, <c>{jobId}/{index}.{ext}</c>.</summary>
    public required string Key { get; init; }

    /// <summary>
    /// A URL the output could be read from when it was stored (public, presigned or SAS). Signed URLs expire: to hand a
    /// URL to a client later, ask <see cref="IMediaStorage.GetReadUrlAsync"/> for <see cref="Key"/> again.
    /// </summary>
    public Uri? Url { get; init; }

    /// <summary>The MIME type, for example <c>image/png</c>.</summary>
    public required string ContentType { get; init; }

    /// <summary>The stored size in bytes.</summary>
    public long Size { get; init; }

    /// <summary>The width in pixels, when known.</summary>
    public int? Width { get; init; }

    /// <summary>The height in pixels, when known.</summary>
    public int? Height { get; init; }

    /// <summary>
    /// The storage key of the output's thumbnail (<see cref="MediaStorageKeys.ForThumbnail"/>), when an
    /// <see cref="IImageThumbnailer"/> is registered and made one.
    /// </summary>
    public string? ThumbnailKey { get; init; }

    /// <summary>The thumbnail's MIME type, when there is a thumbnail.</summary>
    public string? ThumbnailContentType { get; init; }
}

/// <summary>Why a job (or one of its attempts) failed.</summary>
/// <param name="Code">A stable, machine-readable code such as <c>provider_rate_limited</c>; see <see cref="MediaGenErrorCodes"/>.</param>
/// <param name="Message">A human-readable description, including the provider's own error text where there is one.</param>
/// <param name="Retryable">Whether the failure was transient.</param>
public sealed record JobError(string Code, string Message, bool Retryable);
