using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace MediaGen.Internal;

/// <summary>
/// Runs one delivery of one job: decides whether it should run at all (finished, canceled, past its deadline,
/// delivered too often), runs one attempt under a renewed lease with a Polly timeout, stores the outputs under
/// deterministic keys, and settles the message by the outcome. Every effect is keyed so a redelivery repeats nothing:
/// a finished job's message is completed and dropped, outputs overwrite, credits are reserved and refunded once per
/// job id, and the generator resumes its provider work from the checkpoint.
/// </summary>
internal sealed partial class JobProcessor
{
    private static readonly TimeSpan StoreUnavailableRetryDelay = TimeSpan.FromSeconds(5);

    private readonly IJobStore _store;
    private readonly ICreditLedger _ledger;
    private readonly IJobEventStream _events;
    private readonly IMediaStorage _storage;
    private readonly GeneratorCatalog _catalog;
    private readonly JobTransitions _transitions;
    private readonly JobCancellationRegistry _running;
    private readonly ProviderRateGate _rateGate;
    private readonly MediaGenMetrics _metrics;
    private readonly WebhookDispatcher _webhooks;
    private readonly MediaGenerationOptions _options;
    private readonly MediaGenerationWorkerOptions _workerOptions;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _attemptPipeline;
    private readonly ResiliencePipeline _storagePipeline;

    public JobProcessor(
        IJobStore store,
        ICreditLedger ledger,
        IJobEventStream events,
        IMediaStorage storage,
        GeneratorCatalog catalog,
        JobTransitions transitions,
        JobCancellationRegistry running,
        ProviderRateGate rateGate,
        MediaGenMetrics metrics,
        WebhookDispatcher webhooks,
        IOptions<MediaGenerationOptions> options,
        IOptions<MediaGenerationWorkerOptions> workerOptions,
        TimeProvider timeProvider,
        ILogger<JobProcessor> logger)
    {
        _store = store;
        _ledger = ledger;
        _events = events;
        _storage = storage;
        _catalog = catalog;
        _transitions = transitions;
        _running = running;
        _rateGate = rateGate;
        _metrics = metrics;
        _webhooks = webhooks;
        _options = options.Value;
        _workerOptions = workerOptions.Value;
        _time = timeProvider;
        _logger = logger;

        _attemptPipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddTimeout(_workerOptions.AttemptTimeout)
            .Build();

        // Storing an output is repeatable (same key, and the output can be opened again), so brief storage faults are
        // retried in place instead of failing the whole attempt.
        _storagePipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = 3,
                Delay = TimeSpan.FromMilliseconds(200),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder().Handle<StorageUnavailableException>().Handle<IOException>().Handle<HttpRequestException>(),
            })
            .Build();
    }

    /// <summary>Processes one delivery. Never throws except for cancellation by <paramref name="shutdown"/> before any work.</summary>
    public async Task ProcessAsync(IQueueLease lease, CancellationToken shutdown)
    {
        var jobId = lease.Message.JobId;
        try
        {
            var job = await _store.GetAsync(jobId, shutdown).ConfigureAwait(false);
            if (job is null)
            {
                await DeadLetterAsync(lease, MediaGenErrorCodes.JobNotFound, $"No job '{jobId}' exists for this message.").ConfigureAwait(false);
                return;
            }

            await ProcessJobAsync(lease, job, shutdown).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
            await SettleAsync(jobId, lease.AbandonAsync(TimeSpan.Zero, CancellationToken.None)).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // The one broad catch: the job store or queue failed outside an attempt. The message comes back later.
            Log.ProcessingCrashed(_logger, jobId, e);
            await SettleAsync(jobId, lease.AbandonAsync(StoreUnavailableRetryDelay, CancellationToken.None)).ConfigureAwait(false);
        }
    }

    private async Task ProcessJobAsync(IQueueLease lease, GenerationJob job, CancellationToken shutdown)
    {
        if (job.Status.IsTerminal())
        {
            Log.FinishedJobRedelivered(_logger, job.Id, job.Status);
            await SettleAsync(job.Id, lease.CompleteAsync(CancellationToken.None)).ConfigureAwait(false);
            return;
        }

        var now = _time.GetUtcNow();
        var heartbeatWindow = HeartbeatWindow(lease, now);
        if (job.Status == JobStatus.Processing && now - job.UpdatedAt < heartbeatWindow)
        {
            // Another delivery runs this job and its heartbeat is fresh: this message is a duplicate (a sweeper's copy, or
            // our own message redelivered after a lease lapse). Starting again would pay the provider twice, and abandoning
            // would only wear out the delivery count, so drop it; if that run dies, the sweeper finds the stale job.
            Log.DuplicateDelivery(_logger, job.Id);
            await SettleAsync(job.Id, lease.CompleteAsync(CancellationToken.None)).ConfigureAwait(false);
            return;
        }

        if (!_catalog.TryGet(job.Request.Model, out var generator, out var model))
        {
            var error = new JobError(MediaGenErrorCodes.GeneratorPermanent, $"No generator serves model '{job.Request.Model}' in this worker.", Retryable: false);
            await FailAsync(job, error, refund: true, lease, deadLetter: true).ConfigureAwait(false);
            return;
        }

        if (job.CancelRequested)
        {
            await CancelAsync(job, lease).ConfigureAwait(false);
            return;
        }

        if (job.Deadline is { } deadline && now >= deadline)
        {
            await FailAsync(job, DeadlineError(job.Error), refund: true, lease, deadLetter: true).ConfigureAwait(false);
            return;
        }

        if (lease.DeliveryCount > _workerOptions.MaxDeliveryCount || job.Attempt >= _options.MaxAttempts)
        {
            var error = new JobError(MediaGenErrorCodes.AttemptsExhausted,
                $"The job was attempted {job.Attempt} time(s) over {lease.DeliveryCount} deliveries without finishing." + LastError(job.Error), Retryable: false);
            await FailAsync(job, error, refund: true, lease, deadLetter: true).ConfigureAwait(false);
            return;
        }

        if (_rateGate.RemainingPause(generator.Name) is var pause && pause > TimeSpan.Zero)
        {
            // The provider asked everyone to slow down: hand the message back for the pause instead of holding a slot.
            await SettleAsync(job.Id, lease.AbandonAsync(pause, CancellationToken.None)).ConfigureAwait(false);
            return;
        }

        var started = await _transitions.UpdateAsync(job, (Now: now, Window: heartbeatWindow), static (j, state, s) =>
            (j.Status == JobStatus.Pending || (j.Status == JobStatus.Processing && state.Now - j.UpdatedAt >= state.Window)) && !j.CancelRequested
            ? j with
            {
                Status = JobStatus.Processing,
                Attempt = j.Attempt + 1,
                StartedAt = j.StartedAt ?? state.Now,
                NextAttemptAt = null,
                Progress = 0,
                ProgressMessage = null,
                UpdatedAt = s.At,
                Version = s.Version,
            }
            : null, shutdown).ConfigureAwait(false);
        if (started.Status != JobStatus.Processing || started.Version == job.Version)
        {
            // Canceled or finished while we looked: start over with what is stored.
            await ProcessJobAsync(lease, started, shutdown).ConfigureAwait(false);
            return;
        }

        await RunAttemptAsync(lease, started, generator, model, shutdown).ConfigureAwait(false);
    }

    private async Task RunAttemptAsync(IQueueLease lease, GenerationJob job, IMediaGenerator generator, ModelDescriptor model, CancellationToken shutdown)
    {
        var modelTag = new KeyValuePair<string, object?>("mediagen.model", model.Id);
        using var activity = _metrics.ActivitySource.StartActivity("mediagen.process", ActivityKind.Consumer, TraceContext.Extract(lease.Message));
        activity?.SetTag("mediagen.job_id", job.Id);
        activity?.SetTag("mediagen.model", model.Id);
        activity?.SetTag("mediagen.attempt", job.Attempt);

        var now = _time.GetUtcNow();
        _metrics.Started.Add(1, modelTag);
        if (job.Attempt == 1)
        {
            _metrics.QueueWait.Record((now - lease.EnqueuedAt).TotalSeconds, modelTag);
        }

        Log.AttemptStarted(_logger, job.Id, job.Attempt, generator.Name);
        await PublishAsync(job, JobEventType.Started).ConfigureAwait(false);

        // One timer per attempt serves both the lease renewal and the deadline, which signals JobAborted. Cancel sites
        // (owner cancel, deadline, shutdown, lost lease) cancel the attempt's sources directly: no linked sources per job.
        var renewal = _workerOptions.LeaseRenewalInterval ?? RenewalInterval(lease, now);
        using var attempt = new AttemptState(this, lease, job, renewal);
        var jobAborted = attempt.JobAborted;
        var attemptCancel = attempt.AttemptCanceled;
        _running.Register(job.Id, attempt);
        if (shutdown.IsCancellationRequested)
        {
            attempt.StopForShutdown();
        }

        using var renewTimer = _time.CreateTimer(static s => ((AttemptState)s!).OnTimer(), attempt, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        attempt.Start(renewTimer, now);
        var generationStarted = _time.GetTimestamp();
        try
        {
            var context = new GenerationContext(job, model, attempt, attempt, jobAborted);
            var result = await _attemptPipeline.ExecuteAsync(
                static (state, ct) => state.Generator.GenerateAsync(state.Context, ct),
                (Generator: generator, Context: context),
                attemptCancel).ConfigureAwait(false);
            _metrics.GenerationDuration.Record(_time.GetElapsedTime(generationStarted).TotalSeconds, modelTag);

            IReadOnlyList<JobOutput> outputs = result.Outputs.Count == 0 ? [] : await StoreOutputsAsync(attempt, result, attemptCancel).ConfigureAwait(false);
            attempt.Stop();
            var succeeded = await _transitions.UpdateAsync(attempt.Job, outputs, static (j, outputs, s) => j.Status == JobStatus.Processing
                ? j with { Status = JobStatus.Succeeded, Outputs = outputs, CompletedAt = s.At, Progress = 1, ProgressMessage = null, Error = null, UpdatedAt = s.At, Version = s.Version }
                : null, CancellationToken.None).ConfigureAwait(false);
            var completedAt = succeeded.CompletedAt.GetValueOrDefault();
            if (succeeded.Status == JobStatus.Succeeded && ReferenceEquals(succeeded.Outputs, outputs) && succeeded.UpdatedAt == completedAt)
            {
                _metrics.Succeeded.Add(1, modelTag);
                _metrics.JobDuration.Record((completedAt - succeeded.CreatedAt).TotalSeconds, modelTag);
                Log.JobSucceeded(_logger, job.Id, succeeded.Attempt, outputs.Count);
                await PublishAsync(succeeded, JobEventType.Succeeded).ConfigureAwait(false);
                _webhooks.Notify(succeeded);
            }

            await SettleAsync(job.Id, lease.CompleteAsync(CancellationToken.None)).ConfigureAwait(false);
        }
        catch (Exception e) when (attempt.IsJobAborted && e is OperationCanceledException or TimeoutRejectedException or GenerationException)
        {
            attempt.Stop();
            var current = await ReloadAsync(attempt.Job).ConfigureAwait(false);
            if (current.Deadline is { } d && _time.GetUtcNow() >= d && !current.CancelRequested)
            {
                await FailAsync(current, DeadlineError(current.Error), refund: true, lease, deadLetter: true).ConfigureAwait(false);
            }
            else
            {
                await CancelAsync(current, lease).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (attempt.LeaseLost)
        {
            // Another worker may hold the message now; it resumes from the checkpoint. Touch neither the job nor the lease.
            Log.LeaseLost(_logger, job.Id);
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
            attempt.Stop();
            await ReturnOnShutdownAsync(attempt, lease).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException e)
        {
            attempt.Stop();
            var error = new JobError(MediaGenErrorCodes.AttemptTimedOut, $"The attempt took longer than {_workerOptions.AttemptTimeout}.", Retryable: true);
            await HandleFailureAsync(attempt, generator, error, e, retryAfter: null, rateLimited: false, refundable: true).ConfigureAwait(false);
        }
        catch (GenerationException e)
        {
            attempt.Stop();
            var error = new JobError(e.ErrorCode, e.Message, e.IsTransient);
            await HandleFailureAsync(attempt, generator, error, e, e.RetryAfter, e.IsRateLimited, e.IsRefundable).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !attemptCancel.IsCancellationRequested)
        {
            // The worker's one broad catch for an attempt: an unexpected fault is an outcome, retried like a transient error.
            attempt.Stop();
            var code = e is StorageUnavailableException ? MediaGenErrorCodes.StorageUnavailable : MediaGenErrorCodes.InternalError;
            var error = new JobError(code, e.Message, Retryable: true);
            await HandleFailureAsync(attempt, generator, error, e, retryAfter: null, rateLimited: false, refundable: true).ConfigureAwait(false);
        }
        finally
        {
            _running.Unregister(job.Id, attempt);
            attempt.Stop();
        }
    }

    private async Task<IReadOnlyList<JobOutput>> StoreOutputsAsync(AttemptState attempt, GenerationResult result, CancellationToken cancellationToken)
    {
        var job = attempt.Job;
        var metadata = new Dictionary<string, string>(3, StringComparer.Ordinal)
        {
            ["job-id"] = job.Id,
            ["owner"] = job.OwnerId,
            ["model"] = job.Request.Model,
        };
        var outputs = new JobOutput[result.Outputs.Count];
        for (var i = 0; i < outputs.Length; i++)
        {
            var output = result.Outputs[i];
            var key = MediaStorageKeys.ForOutput(job.Id, i, output.ContentType);
            var writeOptions = new StorageWriteOptions { ContentType = output.ContentType, Metadata = metadata };
            var stored = await _storagePipeline.ExecuteAsync(
                static async (state, ct) =>
                {
                    var content = await state.Output.OpenReadAsync(ct).ConfigureAwait(false);
                    await using (content.ConfigureAwait(false))
                    {
                        return await state.Storage.SaveAsync(state.Key, content, state.Options, ct).ConfigureAwait(false);
                    }
                },
                (Output: output, Storage: _storage, Key: key, Options: writeOptions),
                cancellationToken).ConfigureAwait(false);
            var url = await _storage.GetReadUrlAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            outputs[i] = new JobOutput
            {
                Index = i,
                Key = key,
                Url = url,
                ContentType = output.ContentType,
                Size = stored.Size,
                Width = output.Width,
                Height = output.Height,
            };
            await PublishAsync(job, JobEventType.OutputStored, output: outputs[i]).ConfigureAwait(false);
        }

        return outputs;
    }

    private async Task HandleFailureAsync(AttemptState attempt, IMediaGenerator generator, JobError error, Exception exception, TimeSpan? retryAfter, bool rateLimited, bool refundable)
    {
        var job = await ReloadAsync(attempt.Job).ConfigureAwait(false);
        var lease = attempt.Lease;
        if (rateLimited)
        {
            var pause = retryAfter ?? TimeSpan.FromSeconds(30);
            _rateGate.Pause(generator.Name, pause);
            Log.GeneratorPaused(_logger, generator.Name, pause);
        }

        if (!error.Retryable)
        {
            await FailAsync(job, error, refundable, lease, deadLetter: false, exception).ConfigureAwait(false);
            return;
        }

        if (job.Attempt >= _options.MaxAttempts)
        {
            var exhausted = new JobError(MediaGenErrorCodes.AttemptsExhausted, $"All {job.Attempt} attempts failed." + LastError(error), Retryable: false);
            await FailAsync(job, exhausted, refundable, lease, deadLetter: true, exception).ConfigureAwait(false);
            return;
        }

        var now = _time.GetUtcNow();
        var delay = RetryBackoff.Compute(_workerOptions.Retry, job.Attempt, retryAfter, Random.Shared);
        if (job.Deadline is { } deadline && now + delay >= deadline)
        {
            await FailAsync(job, DeadlineError(error), refundable, lease, deadLetter: true, exception).ConfigureAwait(false);
            return;
        }

        var retrying = await _transitions.UpdateAsync(job, j => j.Status == JobStatus.Processing
            ? j with { Status = JobStatus.Pending, Error = error, NextAttemptAt = now + delay, Progress = 0, ProgressMessage = null }
            : null, CancellationToken.None).ConfigureAwait(false);
        if (retrying.Status == JobStatus.Pending)
        {
            _metrics.Retried.Add(1, new KeyValuePair<string, object?>("mediagen.error_code", error.Code));
            Log.AttemptRetrying(_logger, job.Id, job.Attempt, error.Code, delay, exception);
            await PublishAsync(retrying, JobEventType.Retrying, error: error).ConfigureAwait(false);
        }

        await SettleAsync(job.Id, lease.AbandonAsync(delay, CancellationToken.None)).ConfigureAwait(false);
    }

    private async Task FailAsync(GenerationJob job, JobError error, bool refund, IQueueLease lease, bool deadLetter, Exception? exception = null)
    {
        var now = _time.GetUtcNow();
        var failed = await _transitions.UpdateAsync(job, j => j.Status.IsTerminal()
            ? null
            : j with { Status = JobStatus.Failed, Error = error, CompletedAt = now, NextAttemptAt = null, CreditsRefunded = refund ? j.CreditsCharged : 0 },
            CancellationToken.None).ConfigureAwait(false);
        if (failed.Status == JobStatus.Failed && failed.CompletedAt == now)
        {
            if (refund)
            {
                await _ledger.RefundAsync(failed.OwnerId, failed.Id, CancellationToken.None).ConfigureAwait(false);
            }

            _metrics.Failed.Add(1, new KeyValuePair<string, object?>("mediagen.error_code", error.Code));
            _metrics.JobDuration.Record((now - failed.CreatedAt).TotalSeconds, new KeyValuePair<string, object?>("mediagen.model", failed.Request.Model));
            Log.JobFailed(_logger, failed.Id, error.Code, error.Message, exception);
            await PublishAsync(failed, JobEventType.Failed, error: error).ConfigureAwait(false);
            _webhooks.Notify(failed);
        }

        if (deadLetter)
        {
            await DeadLetterAsync(lease, error.Code, error.Message).ConfigureAwait(false);
        }
        else
        {
            await SettleAsync(job.Id, lease.CompleteAsync(CancellationToken.None)).ConfigureAwait(false);
        }
    }

    private async Task CancelAsync(GenerationJob job, IQueueLease lease)
    {
        var now = _time.GetUtcNow();
        var canceled = await _transitions.UpdateAsync(job, j => j.Status.IsTerminal()
            ? null
            : j with { Status = JobStatus.Canceled, CompletedAt = now, NextAttemptAt = null, CreditsRefunded = j.CreditsCharged },
            CancellationToken.None).ConfigureAwait(false);
        if (canceled.Status == JobStatus.Canceled && canceled.CompletedAt == now)
        {
            await _ledger.RefundAsync(canceled.OwnerId, canceled.Id, CancellationToken.None).ConfigureAwait(false);
            _metrics.Canceled.Add(1, new KeyValuePair<string, object?>("mediagen.model", canceled.Request.Model));
            Log.JobCanceled(_logger, canceled.Id);
            await PublishAsync(canceled, JobEventType.Canceled).ConfigureAwait(false);
            _webhooks.Notify(canceled);
        }

        await SettleAsync(job.Id, lease.CompleteAsync(CancellationToken.None)).ConfigureAwait(false);
    }

    private async Task ReturnOnShutdownAsync(AttemptState attempt, IQueueLease lease)
    {
        try
        {
            // The interrupted attempt does not count against the job: give its number back. The checkpoint stays, so
            // the next attempt resumes the provider's work.
            await _transitions.UpdateAsync(attempt.Job, j => j.Status == JobStatus.Processing
                ? j with { Status = JobStatus.Pending, Attempt = Math.Max(0, j.Attempt - 1), Progress = 0, ProgressMessage = null }
                : null, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            Log.ReturnedOnShutdown(_logger, attempt.Job.Id);
            await SettleAsync(attempt.Job.Id, lease.AbandonAsync(TimeSpan.Zero, CancellationToken.None)).ConfigureAwait(false);
        }
    }

    private async Task DeadLetterAsync(IQueueLease lease, string reason, string description)
    {
        _metrics.DeadLettered.Add(1, new KeyValuePair<string, object?>("mediagen.error_code", reason));
        Log.MessageDeadLettered(_logger, lease.Message.MessageId, reason);
        await SettleAsync(lease.Message.JobId, lease.DeadLetterAsync(reason, description, CancellationToken.None)).ConfigureAwait(false);
    }

    private async Task SettleAsync(string jobId, ValueTask settle)
    {
        try
        {
            await settle.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A lost lease or a queue fault: the message comes back, finds the job's outcome stored, and is dropped.
            Log.SettleFailed(_logger, jobId, e);
        }
    }

    private async Task<GenerationJob> ReloadAsync(GenerationJob job) =>
        await _store.GetAsync(job.Id, CancellationToken.None).ConfigureAwait(false) ?? job;

    private ValueTask PublishAsync(GenerationJob job, JobEventType type, JobOutput? output = null, JobError? error = null, double? progress = null, string? message = null) =>
        _events.PublishJobEventAsync(job, type, _time.GetUtcNow(), error, output, progress, message);

    /// <summary>
    /// How recent a Processing job's last write must be for its run to count as alive: a running attempt writes a
    /// heartbeat at every renewal, so a job untouched for a whole lease period (or renewal interval, if longer) has no
    /// live run.
    /// </summary>
    private TimeSpan HeartbeatWindow(IQueueLease lease, DateTimeOffset now)
    {
        var leasePeriod = lease.LockedUntil - now;
        return _workerOptions.LeaseRenewalInterval is { } renewal && renewal > leasePeriod ? renewal : leasePeriod;
    }

    private TimeSpan RenewalInterval(IQueueLease lease, DateTimeOffset now)
    {
        var half = (lease.LockedUntil - now) / 2;
        return half > TimeSpan.FromMilliseconds(1) ? half : TimeSpan.FromMilliseconds(1);
    }

    private static JobError DeadlineError(JobError? last) =>
        new(MediaGenErrorCodes.DeadlineExceeded, "The job's deadline passed before it could finish." + LastError(last), Retryable: false);

    private static string LastError(JobError? error) => error is null ? string.Empty : $" Last error ({error.Code}): {error.Message}";
}
