using System.Diagnostics;
using System.Threading.RateLimiting;
using MediaGen.Shared;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen.Internal;

/// <summary>
/// Submission and owner-scoped reads. Submitting and canceling are lifecycle steps (<see cref="JobLifecycle"/>): the job,
/// its reservation, its message and its event are written as one step, so there is never a charge without a job or a
/// pending job without a message for long (the sweeper finishes what a crash of a composed backend left).
/// </summary>
internal sealed class MediaGenerationClient(
    IJobStore store,
    IJobQueue queue,
    IMediaStorage storage,
    GeneratorCatalog catalog,
    JobLifecycle lifecycle,
    ResultCache resultCache,
    MediaGenMetrics metrics,
    SubmissionRateLimiter rateLimiter,
    IEnumerable<IContentModerator> moderators,
    IOptions<MediaGenerationOptions> options,
    IOptions<WebhookOptions> webhookOptions,
    TimeProvider timeProvider,
    ILogger<MediaGenerationClient> logger) : IMediaGenerationClient
{
    /// <summary>How many dead letters, oldest first, a replay looks through for its message id.</summary>
    private const int DeadLetterSearchLimit = 1000;

    private readonly MediaGenerationOptions _options = options.Value;
    private readonly IContentModerator[] _moderators = [.. moderators];

    public async ValueTask<SubmitResult> SubmitAsync(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var model = Validate(request);
        using var activity = metrics.ActivitySource.StartActivity(MediaGenTelemetry.Spans.Submit, ActivityKind.Producer);
        activity?.SetTag(MediaGenTelemetry.Tags.Model, request.Model);
        try
        {
            // Priced per output: the model's cost times the outputs asked for; outputs that fail are refunded at the end.
            var cost = model.GetCost(request);
            await AcquireSubmissionAsync(request.OwnerId, cancellationToken).ConfigureAwait(false);
            await ModerateAsync(request, cancellationToken).ConfigureAwait(false);
            var now = timeProvider.GetUtcNow();
            var cacheKey = resultCache.KeyFor(request);
            var job = new GenerationJob
            {
                Id = JobIds.New(),
                Request = ResultCache.WithDecision(request, cacheKey is not null),
                CreatedAt = now,
                UpdatedAt = now,
                Deadline = now + _options.JobDeadline,
                CreditsCharged = cost,
                Version = 1,
            };

            if (cacheKey is not null && await resultCache.FindSourceAsync(cacheKey, job, cancellationToken).ConfigureAwait(false) is { } source)
            {
                if (await ServeFromCacheAsync(job, cacheKey, source, cancellationToken).ConfigureAwait(false) is { } served)
                {
                    activity?.SetTag(MediaGenTelemetry.Tags.JobId, served.Job.Id);
                    activity?.SetTag(MediaGenTelemetry.Tags.CacheHit, true);
                    return served;
                }

                // No copy could be made, so the request is generated; the id the attempt reserved under is not used again.
                job = job with { Id = JobIds.New() };
            }

            var message = new QueueMessage(job.Id) { Headers = TraceContext.Capture(activity ?? Activity.Current), GroupId = job.OwnerId };
            var enqueueOptions = request.Priority == JobPriority.Normal ? null : new EnqueueOptions { Priority = request.Priority };
            var created = await lifecycle.SubmitAsync(job, cost, message, enqueueOptions, cancellationToken, _options.MaxPendingJobsPerOwner, _options.PendingLimitRetryAfter).ConfigureAwait(false);
            if (!created.Created)
            {
                if (!created.Job.Request.IsSameWorkAs(request))
                {
                    throw new IdempotencyKeyReusedException(request.IdempotencyKey!, created.Job.Id);
                }

                return new SubmitResult(created.Job, Created: false);
            }

            activity?.SetTag(MediaGenTelemetry.Tags.JobId, job.Id);
            return new SubmitResult(created.Job, Created: true);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Refused (credits, limits, moderation) or the backend failed: the span says so, the caller gets the exception.
            SpanFailure.Record(activity, e);
            throw;
        }
    }

    /// <summary>
    /// Serves <paramref name="job"/> from the result cache with <paramref name="source"/>'s outputs (see
    /// <see cref="JobLifecycle.SubmitCachedAsync"/>). Null when no copy could be made.
    /// </summary>
    private async ValueTask<SubmitResult?> ServeFromCacheAsync(GenerationJob job, string cacheKey, GenerationJob source, CancellationToken cancellationToken)
    {
        if (await lifecycle.SubmitCachedAsync(job, cacheKey, source, cancellationToken).ConfigureAwait(false) is not { } created)
        {
            return null;
        }

        if (created.Created)
        {
            return new SubmitResult(created.Job, Created: true);
        }

        return created.Job.Request.IsSameWorkAs(job.Request)
            ? new SubmitResult(created.Job, Created: false)
            : throw new IdempotencyKeyReusedException(job.Request.IdempotencyKey!, created.Job.Id);
    }

    /// <summary>Takes one of the owner's submissions in the current window, when a rate is set; refuses past it.</summary>
    private async ValueTask AcquireSubmissionAsync(string ownerId, CancellationToken cancellationToken)
    {
        if (_options.SubmissionsPerOwner is not { } allowed)
        {
            return;
        }

        using var lease = await rateLimiter.Limiter.AcquireAsync(ownerId, 1, cancellationToken).ConfigureAwait(false);
        if (!lease.IsAcquired)
        {
            var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : _options.SubmissionWindow;
            throw new OwnerLimitExceededException(ownerId, OwnerLimit.SubmissionRate, allowed, retryAfter);
        }
    }

    /// <summary>Runs the moderators in the order they were added; the first refusal stops the submission before anything is written.</summary>
    private async ValueTask ModerateAsync(GenerationRequest request, CancellationToken cancellationToken)
    {
        foreach (var moderator in _moderators)
        {
            var verdict = await moderator.ModerateAsync(request, cancellationToken).ConfigureAwait(false);
            if (verdict.IsBlocked)
            {
                metrics.Blocked.Add(1, new KeyValuePair<string, object?>(MediaGenTelemetry.Tags.Moderator, moderator.Name));
                Log.SubmissionBlocked(logger, request.OwnerId, moderator.Name, verdict.Field ?? string.Empty);
                throw new ContentBlockedException(moderator.Name, verdict.Field ?? "prompt", verdict.Reason ?? "The request is not allowed.");
            }
        }
    }

    public async ValueTask<GenerationJob> GetAsync(string ownerId, string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var job = await store.GetAsync(jobId, cancellationToken).ConfigureAwait(false);
        return job is not null && string.Equals(job.OwnerId, ownerId, StringComparison.Ordinal)
            ? job
            : throw new JobNotFoundException(jobId);
    }

    public ValueTask<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentException.ThrowIfNullOrEmpty(query.OwnerId);
        if (query.Limit is < 1 or > JobQuery.MaxLimit)
        {
            throw new RequestValidationException("limit", $"The limit must be between 1 and {JobQuery.MaxLimit}.");
        }

        return store.ListAsync(query, cancellationToken);
    }

    public async ValueTask<GenerationJob> CancelAsync(string ownerId, string jobId, CancellationToken cancellationToken = default)
    {
        var job = await GetAsync(ownerId, jobId, cancellationToken).ConfigureAwait(false);
        if (job.Status is JobStatus.Succeeded or JobStatus.Failed)
        {
            throw new InvalidJobTransitionException(job.Id, job.Status, JobStatus.Canceled);
        }

        // A running job is marked and signalled to the worker running it, in this process or another.
        return await lifecycle.RequestCancelAsync(job, CancellationToken.None).ConfigureAwait(false);
    }

    public async ValueTask<GenerationJob> RetryAsync(string ownerId, string jobId, CancellationToken cancellationToken = default)
    {
        var job = await GetAsync(ownerId, jobId, cancellationToken).ConfigureAwait(false);
        var result = await RerunAsync(job, onlyIfFinished: false, cancellationToken).ConfigureAwait(false);
        return result.Job;
    }

    public async ValueTask<GenerationJob?> ReplayDeadLetterAsync(string messageId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        var deadLetters = await queue.ListDeadLettersAsync(DeadLetterSearchLimit, cancellationToken).ConfigureAwait(false);
        var deadLetter = deadLetters.FirstOrDefault(d => string.Equals(d.Message.MessageId, messageId, StringComparison.Ordinal));
        if (deadLetter is null)
        {
            return null;
        }

        var job = await store.GetAsync(deadLetter.Message.JobId, cancellationToken).ConfigureAwait(false);
        if (job is not null)
        {
            // The new run's message is enqueued with the retry; only then does the dead letter go. A crash in between
            // leaves a dead letter whose replay finds the job retried already and just removes it.
            job = (await RerunAsync(job, onlyIfFinished: true, cancellationToken).ConfigureAwait(false)).Job;
            Log.DeadLetterReplayed(logger, messageId, job.Id, job.Status, job.Run);
        }

        await queue.DeleteDeadLetterAsync(messageId, CancellationToken.None).ConfigureAwait(false);
        return job;
    }

    /// <summary>Retries the job as a new run at its model's current price; see <see cref="JobLifecycle.RetryAsync"/>.</summary>
    private async ValueTask<StepResult> RerunAsync(GenerationJob job, bool onlyIfFinished, CancellationToken cancellationToken)
    {
        if (!catalog.TryGet(job.Request.Model, out _, out var model))
        {
            throw new RequestValidationException("model", $"The job's model '{job.Request.Model}' is no longer served, so the job cannot run again.");
        }

        using var activity = metrics.ActivitySource.StartActivity(MediaGenTelemetry.Spans.Retry, ActivityKind.Producer);
        activity?.SetTag(MediaGenTelemetry.Tags.JobId, job.Id);
        var retry = new RunRetry(model.GetCost(job.Request), _options.JobDeadline, _options.CheckpointResumeWindow, TraceContext.Capture(activity ?? Activity.Current));
        try
        {
            return await lifecycle.RetryAsync(job, retry, onlyIfFinished, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            SpanFailure.Record(activity, e);
            throw;
        }
    }

    /// <summary>
    /// Deletes a finished job in four steps, each of which a second delete (or the sweeper, for the reservation) finishes
    /// after a crash: mark the job (<see cref="JobLifecycle.RequestDeleteAsync"/>; from here no retry starts a new run,
    /// and a retry that got in first refuses the delete before anything is removed), settle its reservation (a no-op
    /// unless a crash left it open), delete its outputs, then delete the job only while it is still finished at the
    /// marked version (<see cref="IJobStore.DeleteFinishedAsync"/>). A crash after the mark leaves a marked job, with or
    /// without its outputs, which the next delete finishes; never outputs or an open reservation without a job, nor a
    /// charged run removed.
    /// </summary>
    public async ValueTask DeleteAsync(string ownerId, string jobId, CancellationToken cancellationToken = default)
    {
        var job = await GetAsync(ownerId, jobId, cancellationToken).ConfigureAwait(false);
        if (!job.Status.IsTerminal())
        {
            throw new InvalidJobTransitionException(job.Id, job.Status, JobStatus.Canceled);
        }

        job = await lifecycle.RequestDeleteAsync(job, cancellationToken).ConfigureAwait(false);

        // Marked: the rest runs to the end whatever the caller does, so a caller that goes away leaves no half-deleted job.
        await lifecycle.SettleFinishedAsync(job, CancellationToken.None).ConfigureAwait(false);
        await storage.DeletePrefixAsync(MediaStorageKeys.JobPrefix(job.Id), CancellationToken.None).ConfigureAwait(false);
        await RemoveMarkedAsync(job).ConfigureAwait(false);

        // Readers would drop an entry naming a deleted job anyway; dropping it now saves the next one a lookup.
        await resultCache.ForgetAsync(job).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes a job the delete marked, while it is still finished at the version last seen. Another write of the marked job
    /// (the sweeper's last commit of a cache hit) changes only its version, so the removal is tried again at the new one;
    /// a job already gone (another delete of it, or its retention) is done.
    /// </summary>
    private async ValueTask RemoveMarkedAsync(GenerationJob marked)
    {
        var job = marked;
        for (var i = 0; i < JobLifecycle.MaxConflicts; i++)
        {
            if (await store.DeleteFinishedAsync(job.Id, job.Version, CancellationToken.None).ConfigureAwait(false))
            {
                return;
            }

            var current = await store.GetAsync(job.Id, CancellationToken.None).ConfigureAwait(false);
            if (current is null)
            {
                return;
            }

            if (!current.DeleteRequested || current.Run != marked.Run || !current.Status.IsTerminal())
            {
                throw JobLifecycle.ChangedWhileDeleting(current, marked.Run);
            }

            job = current;
        }

        throw new InvalidOperationException($"Job '{marked.Id}' kept changing while it was being deleted.");
    }

    public IReadOnlyList<ModelDescriptor> GetModels() => catalog.Models;

    private ModelDescriptor Validate(GenerationRequest request)
    {
        Dictionary<string, string[]>? errors = null;
        if (!TextNormalization.HasVisibleText(request.Prompt))
        {
            (errors ??= new(StringComparer.Ordinal))["prompt"] = ["The prompt must not be blank."];
        }
        else if (request.Prompt.Length > GenerationRequest.MaxPromptLength)
        {
            (errors ??= new(StringComparer.Ordinal))["prompt"] = [$"The prompt must be at most {GenerationRequest.MaxPromptLength} characters."];
        }

        if (request.NegativePrompt is { Length: > GenerationRequest.MaxPromptLength })
        {
            (errors ??= new(StringComparer.Ordinal))["negativePrompt"] = [$"The negative prompt must be at most {GenerationRequest.MaxPromptLength} characters."];
        }

        if (string.IsNullOrWhiteSpace(request.OwnerId))
        {
            (errors ??= new(StringComparer.Ordinal))["ownerId"] = ["The owner must not be blank."];
        }

        if (request.IdempotencyKey is { } key && (string.IsNullOrWhiteSpace(key) || key.Length > _options.MaxIdempotencyKeyLength))
        {
            (errors ??= new(StringComparer.Ordinal))["idempotencyKey"] = [$"The idempotency key must be 1 to {_options.MaxIdempotencyKeyLength} non-blank characters."];
        }

        if (request.WebhookUrl is { } webhook && OutboundAddressPolicy.CheckUrl(webhook, webhookOptions.Value.AllowedNonPublicHosts) is { } refused)
        {
            (errors ??= new(StringComparer.Ordinal))["webhookUrl"] = [refused];
        }

        if ((request.WebhookEvents & ~WebhookEventFilter.All) != 0)
        {
            (errors ??= new(StringComparer.Ordinal))["webhookEvents"] = ["The webhook events must be a combination of Start, Output and Completed."];
        }

        if (!Enum.IsDefined(request.Priority))
        {
            (errors ??= new(StringComparer.Ordinal))["priority"] = ["The priority must be Low, Normal or High."];
        }

        ModelDescriptor? model = null;
        if (string.IsNullOrWhiteSpace(request.Model))
        {
            (errors ??= new(StringComparer.Ordinal))["model"] = ["The model must not be blank."];
        }
        else if (!catalog.TryGet(request.Model, out _, out model))
        {
            (errors ??= new(StringComparer.Ordinal))["model"] = [catalog.Models.Count == 0
                ? $"Unknown model '{request.Model}': no generator is registered."
                : $"Unknown model '{request.Model}'. Known models: {string.Join(", ", catalog.Models.Select(m => m.Id))}."];
        }
        else
        {
            var modelErrors = model.Validate(request);
            if (modelErrors.Count > 0)
            {
                foreach (var (field, messages) in modelErrors)
                {
                    (errors ??= new(StringComparer.Ordinal))[field] = messages;
                }
            }
        }

        return errors is not null ? throw new RequestValidationException(errors) : model!;
    }
}
