namespace MediaGen;

/// <summary>
/// The names of MediaGen's telemetry: one <see cref="System.Diagnostics.Metrics.Meter"/> and one
/// <see cref="System.Diagnostics.ActivitySource"/>, both named <see cref="MeterName"/>, their instruments, spans and tags.
/// Subscribe with <c>AddMeter(MediaGenTelemetry.MeterName)</c> and <c>AddSource(MediaGenTelemetry.ActivitySourceName)</c>,
/// or with the <c>AddMediaGenInstrumentation()</c> helpers of the MediaGen.OpenTelemetry package.
/// </summary>
/// <remarks>
/// Tags are low cardinality only (model, error code, moderator, queue state): never job ids, owners or prompts. Spans carry
/// the job id, which a trace backend indexes per span rather than per series. A span whose work failed has the status
/// <see cref="System.Diagnostics.ActivityStatusCode.Error"/>, the tag <see cref="Tags.ErrorType"/> and, when an exception
/// caused it, an <c>exception</c> event.
/// </remarks>
public static class MediaGenTelemetry
{
    /// <summary>The name of MediaGen's meter.</summary>
    public const string MeterName = "MediaGen";

    /// <summary>The name of MediaGen's activity source.</summary>
    public const string ActivitySourceName = "MediaGen";

    /// <summary>The names of MediaGen's metric instruments.</summary>
    public static class Instruments
    {
        /// <summary>Counter (<c>{job}</c>, tag <see cref="Tags.Model"/>): jobs accepted by submission.</summary>
        public const string JobSubmitted = "mediagen.job.submitted";

        /// <summary>Counter (<c>{attempt}</c>, tag <see cref="Tags.Model"/>): attempts started by workers.</summary>
        public const string JobStarted = "mediagen.job.started";

        /// <summary>Counter (<c>{job}</c>, tag <see cref="Tags.Model"/>): jobs that succeeded.</summary>
        public const string JobSucceeded = "mediagen.job.succeeded";

        /// <summary>Counter (<c>{job}</c>, tags <see cref="Tags.Model"/> and <see cref="Tags.ErrorCode"/>): jobs that failed for good.</summary>
        public const string JobFailed = "mediagen.job.failed";

        /// <summary>Counter (<c>{job}</c>, tag <see cref="Tags.Model"/>): jobs canceled by their owner.</summary>
        public const string JobCanceled = "mediagen.job.canceled";

        /// <summary>Counter (<c>{attempt}</c>, tag <see cref="Tags.ErrorCode"/>): attempts that failed and were scheduled again.</summary>
        public const string JobRetried = "mediagen.job.retried";

        /// <summary>Counter (<c>{job}</c>, tag <see cref="Tags.Model"/>): failed or canceled jobs retried as a new run.</summary>
        public const string JobRerun = "mediagen.job.rerun";

        /// <summary>Counter (<c>{message}</c>, tag <see cref="Tags.ErrorCode"/>): messages moved to the dead-letter store.</summary>
        public const string JobDeadLettered = "mediagen.job.dead_lettered";

        /// <summary>Counter (<c>{output}</c>, tag <see cref="Tags.Model"/>): outputs a succeeded job's generator could not deliver (refunded).</summary>
        public const string OutputFailed = "mediagen.output.failed";

        /// <summary>Counter (<c>{output}</c>, tag <see cref="Tags.Model"/>): outputs whose thumbnail could not be made (the output is kept).</summary>
        public const string ThumbnailFailed = "mediagen.thumbnail.failed";

        /// <summary>Counter (<c>{request}</c>, tag <see cref="Tags.Moderator"/>): submissions refused by a content moderator.</summary>
        public const string SubmissionBlocked = "mediagen.submission.blocked";

        /// <summary>Counter (<c>{job}</c>, tag <see cref="Tags.Model"/>): jobs served from the result cache without calling a provider.</summary>
        public const string CacheHit = "mediagen.cache.hit";

        /// <summary>Counter (<c>{request}</c>, tag <see cref="Tags.Model"/>): cacheable submissions the result cache could not serve.</summary>
        public const string CacheMiss = "mediagen.cache.miss";

        /// <summary>Counter (<c>{request}</c>, tag <see cref="Tags.Model"/>): result cache reads, copies or writes that failed (the request is generated as usual).</summary>
        public const string CacheError = "mediagen.cache.error";

        /// <summary>Histogram (<c>s</c>, tag <see cref="Tags.Model"/>): time from submission to a terminal status (succeeded or failed).</summary>
        public const string JobDuration = "mediagen.job.duration";

        /// <summary>Histogram (<c>s</c>, tag <see cref="Tags.Model"/>): time from enqueue to the start of a job's first attempt.</summary>
        public const string QueueWait = "mediagen.queue.wait";

        /// <summary>Histogram (<c>s</c>, tag <see cref="Tags.Model"/>): time a generator took for one successful attempt.</summary>
        public const string GenerationDuration = "mediagen.generation.duration";

        /// <summary>Gauge (<c>{message}</c>, tag <see cref="Tags.QueueState"/>): messages in the queue by state, as the worker last read them.</summary>
        public const string QueueDepth = "mediagen.queue.depth";

        /// <summary>Every instrument name above.</summary>
        public static IReadOnlyList<string> All { get; } =
        [
            JobSubmitted, JobStarted, JobSucceeded, JobFailed, JobCanceled, JobRetried, JobRerun, JobDeadLettered, OutputFailed,
            ThumbnailFailed, SubmissionBlocked, CacheHit, CacheMiss, CacheError, JobDuration, QueueWait, GenerationDuration, QueueDepth,
        ];
    }

    /// <summary>The names of MediaGen's spans.</summary>
    public static class Spans
    {
        /// <summary>A submission (<see cref="System.Diagnostics.ActivityKind.Producer"/>): its context travels in the job's queue message.</summary>
        public const string Submit = "mediagen.submit";

        /// <summary>A new run of a failed or canceled job (<see cref="System.Diagnostics.ActivityKind.Producer"/>).</summary>
        public const string Retry = "mediagen.retry";

        /// <summary>One attempt of a job in a worker (<see cref="System.Diagnostics.ActivityKind.Consumer"/>), a child of the submission's span.</summary>
        public const string Process = "mediagen.process";
    }

    /// <summary>The tags on MediaGen's instruments and spans.</summary>
    public static class Tags
    {
        /// <summary>The model id of the job.</summary>
        public const string Model = "mediagen.model";

        /// <summary>The stable error code (<see cref="MediaGenErrorCodes"/>) a job failed or was retried with.</summary>
        public const string ErrorCode = "mediagen.error_code";

        /// <summary>The name of the content moderator that refused a submission.</summary>
        public const string Moderator = "mediagen.moderator";

        /// <summary>The queue state of <see cref="Instruments.QueueDepth"/>: <c>ready</c>, <c>delayed</c>, <c>leased</c> or <c>dead_lettered</c>.</summary>
        public const string QueueState = "state";

        /// <summary>The job id (spans only).</summary>
        public const string JobId = "mediagen.job_id";

        /// <summary>Set to true on a <see cref="Spans.Submit"/> span served from the result cache.</summary>
        public const string CacheHit = "mediagen.cache_hit";

        /// <summary>The attempt number (the <see cref="Spans.Process"/> span only).</summary>
        public const string Attempt = "mediagen.attempt";

        /// <summary>On a failed span: the stable error code, or the exception's type name when it has none (OpenTelemetry's <c>error.type</c>).</summary>
        public const string ErrorType = "error.type";
    }
}
