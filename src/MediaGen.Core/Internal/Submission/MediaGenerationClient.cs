using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen.Internal;

/// <summary>
/// Submission and owner-scoped reads. The job store is the source of truth: submission writes the job, then reserves
/// its credits, then enqueues it; each step undoes what came before when it fails, so there is never a charge without
/// a job or a pending job without a message for long (the sweeper re-enqueues those left by a crash).
/// </summary>
internal sealed class MediaGenerationClient(
    IJobStore store,
    IJobQueue queue,
    ICreditLedger ledger,
    IJobEventStream events,
    IMediaStorage storage,
    GeneratorCatalog catalog,
    JobTransitions transitions,
    JobCancellationRegistry running,
    MediaGenMetrics metrics,
    WebhookDispatcher webhooks,
    IOptions<MediaGenerationOptions> options,
    TimeProvider timeProvider,
    ILogger<MediaGenerationClient> logger) : IMediaGenerationClient
{
    private readonly MediaGenerationOptions _options = options.Value;

    public async ValueTask<SubmitResult> SubmitAsync(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var model = Validate(request);
        using var activity = metrics.ActivitySource.StartActivity("mediagen.submit", ActivityKind.Producer);
        activity?.SetTag("mediagen.model", request.Model);

        var now = timeProvider.GetUtcNow();
        var job = new GenerationJob
        {
            Id = JobIds.New(),
            Request = request,
            CreatedAt = now,
            UpdatedAt = now,
            Deadline = now + _options.JobDeadline,
            CreditsCharged = model.CostCredits,
            Version = 1,
        };

        var created = await store.CreateAsync(job, cancellationToken).ConfigureAwait(false);
        if (!created.Created)
        {
            if (!created.Job.Request.IsSameWorkAs(request))
            {
                throw new IdempotencyKeyReusedException(request.IdempotencyKey!, created.Job.Id);
            }

            return new SubmitResult(created.Job, Created: false);
        }

        job = created.Job;
        activity?.SetTag("mediagen.job_id", job.Id);

        // Past this point the job exists: finish or undo without heeding the caller's token, so nothing is left half done.
        try
        {
            await ledger.ReserveAsync(job.OwnerId, job.Id, model.CostCredits, CancellationToken.None).ConfigureAwait(false);
        }
        catch
        {
            await store.DeleteAsync(job.Id, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        // Queued goes out before the enqueue: once enqueued, a fast worker's Started could otherwise reach subscribers first.
        await events.PublishJobEventAsync(job, JobEventType.Queued, now).ConfigureAwait(false);

        try
        {
            var message = new QueueMessage(job.Id) { Headers = TraceContext.Capture(activity ?? Activity.Current) };
            var enqueueOptions = request.Priority == JobPriority.Normal ? null : new EnqueueOptions { Priority = request.Priority };
            await queue.EnqueueAsync(message, enqueueOptions, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.EnqueueFailed(logger, job.Id, e);
            await FailUnqueuedAsync(job, e).ConfigureAwait(false);
            throw e as QueueUnavailableException ?? new QueueUnavailableException("The job could not be enqueued; it was failed and its credits refunded. Try again later.", e);
        }

        metrics.Submitted.Add(1, new KeyValuePair<string, object?>("mediagen.model", request.Model));
        Log.JobSubmitted(logger, job.Id, request.Model, job.OwnerId);
        return new SubmitResult(job, Created: true);
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

        var now = timeProvider.GetUtcNow();
        job = await transitions.UpdateAsync(job, j => j.Status switch
        {
            JobStatus.Pending => j with { Status = JobStatus.Canceled, CompletedAt = now, NextAttemptAt = null, CreditsRefunded = j.CreditsCharged },
            JobStatus.Processing when !j.CancelRequested => j with { CancelRequested = true },
            JobStatus.Succeeded or JobStatus.Failed => throw new InvalidJobTransitionException(j.Id, j.Status, JobStatus.Canceled),
            _ => null,
        }, CancellationToken.None).ConfigureAwait(false);

        if (job.Status == JobStatus.Canceled && job.CompletedAt == now)
        {
            await RefundAsync(job).ConfigureAwait(false);
            metrics.Canceled.Add(1, new KeyValuePair<string, object?>("mediagen.model", job.Request.Model));
            Log.JobCanceled(logger, job.Id);
            await events.PublishJobEventAsync(job, JobEventType.Canceled, now).ConfigureAwait(false);
            webhooks.Notify(job);
        }
        else if (job.Status == JobStatus.Processing)
        {
            // Running here: stop it now. Running elsewhere: its worker sees CancelRequested at the next lease renewal.
            running.TryCancel(job.Id);
        }

        return job;
    }

    public async ValueTask DeleteAsync(string ownerId, string jobId, CancellationToken cancellationToken = default)
    {
        var job = await GetAsync(ownerId, jobId, cancellationToken).ConfigureAwait(false);
        if (!job.Status.IsTerminal())
        {
            throw new InvalidJobTransitionException(job.Id, job.Status, JobStatus.Canceled);
        }

        // Outputs first: a crash in between leaves a job without outputs, which a second delete finishes, never outputs without a job.
        await storage.DeletePrefixAsync(MediaStorageKeys.JobPrefix(job.Id), cancellationToken).ConfigureAwait(false);
        await store.DeleteAsync(job.Id, cancellationToken).ConfigureAwait(false);
    }

    public IReadOnlyList<ModelDescriptor> GetModels() => catalog.Models;

    private ModelDescriptor Validate(GenerationRequest request)
    {
        Dictionary<string, string[]>? errors = null;
        if (string.IsNullOrWhiteSpace(request.Prompt))
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

        if (request.WebhookUrl is { } webhook && (!webhook.IsAbsoluteUri || (webhook.Scheme != Uri.UriSchemeHttps && webhook.Scheme != Uri.UriSchemeHttp)))
        {
            (errors ??= new(StringComparer.Ordinal))["webhookUrl"] = ["The webhook URL must be an absolute http or https URL."];
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

    private async Task FailUnqueuedAsync(GenerationJob job, Exception cause)
    {
        var now = timeProvider.GetUtcNow();
        try
        {
            var failed = await transitions.UpdateAsync(job, j => j.Status == JobStatus.Pending
                ? j with
                {
                    Status = JobStatus.Failed,
                    CompletedAt = now,
                    CreditsRefunded = j.CreditsCharged,
                    Error = new JobError(MediaGenErrorCodes.EnqueueFailed, "The job could not be enqueued: " + cause.Message, Retryable: true),
                }
                : null, CancellationToken.None).ConfigureAwait(false);
            if (failed.Status == JobStatus.Failed)
            {
                await RefundAsync(failed).ConfigureAwait(false);
                metrics.Failed.Add(1, new KeyValuePair<string, object?>("mediagen.error_code", MediaGenErrorCodes.EnqueueFailed));
                await events.PublishJobEventAsync(failed, JobEventType.Failed, now, failed.Error).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The store is down too: the job stays Pending and the sweeper enqueues it once things recover. Still refund nothing
            // here, because the job will run.
            Log.RefundFailed(logger, job.Id, e);
        }
    }

    private async Task RefundAsync(GenerationJob job)
    {
        try
        {
            await ledger.RefundAsync(job.OwnerId, job.Id, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.RefundFailed(logger, job.Id, e);
        }
    }
}
