using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen.Internal;

/// <summary>The <see cref="GenerationJob.UpdatedAt"/> and <see cref="GenerationJob.Version"/> a step's new job must carry.</summary>
/// <param name="At">The write time.</param>
/// <param name="Version">The version the stored job will have.</param>
internal readonly record struct JobStamp(DateTimeOffset At, long Version);

/// <summary>What a step does besides writing the job; see <see cref="JobCommit"/>.</summary>
internal readonly record struct StepEffects(
    long? Settlement = null,
    long? Reserve = null,
    LeaseSettlement? Lease = null,
    JobEventType? Event = null,
    JobError? EventError = null,
    QueueMessage? Enqueue = null,
    EnqueueOptions? EnqueueOptions = null,
    JobEvent? PrecedingEvent = null);

/// <summary>The job's new state (null to write nothing) and the step's other effects.</summary>
internal readonly record struct Step(GenerationJob? Job, StepEffects Effects)
{
    /// <summary>No step at all: the job is not in a state this step applies to.</summary>
    public static Step None => default;

    public bool IsNone => Job is null && Effects == default;
}

/// <summary>
/// The outcome of a step: the job as stored after it, whether this call applied the step, and whether that step wrote
/// the job (a step may only settle a lease or credits).
/// </summary>
internal readonly record struct StepResult(GenerationJob Job, bool Applied, bool Written);

/// <summary>
/// The one owner of every job transition: submit, start, heartbeat, checkpoint, retry later, succeed, fail, cancel,
/// return on shutdown. Each step is decided from the job as stored, sent to the <see cref="IJobLifecycleStore"/> as one
/// commit (atomic where one backend owns the seams), re-decided on a fresh read when another writer got there first,
/// and followed by its process-local effects (metrics, logs, webhooks), all here. Nothing else writes a job's status.
/// </summary>
internal sealed partial class JobLifecycle(
    IJobStore store,
    IJobLifecycleStore backend,
    IJobEventStream events,
    ICreditLedger ledger,
    IJobCancelSignal cancelSignal,
    ResultCache resultCache,
    MediaGenMetrics metrics,
    WebhookDispatcher webhooks,
    TimeProvider timeProvider,
    IOptions<MediaGenerationWorkerOptions> workerOptions,
    ILogger<JobLifecycle> logger)
{
    /// <summary>How many times in a row a step is decided again after another writer changed the job first.</summary>
    public const int MaxConflicts = 16;

    /// <summary>
    /// How long a cache hit may take from its reservation to its job write: half of the stale period after which the
    /// sweeper gives back a reservation that has no job (and deletes the copies made under its id).
    /// </summary>
    private readonly TimeSpan _cacheHitBudget = workerOptions.Value.StalePendingAfter / 2;

    // A store that takes a step's event by its type alone when the event says only what happened to the job it writes
    // (Queued, Started, Succeeded) keeps such events without making the three event objects a job would cost.
    private readonly IStatusEventLifecycleStore? _statusEvents = backend is IStatusEventLifecycleStore { TakesStatusEvents: true } store ? store : null;

    public TimeProvider Time => timeProvider;

    /// <summary>
    /// Decides a step from the stored job with <paramref name="decide"/> and commits it; on a version conflict reads the
    /// job again and decides again. A decision of <see cref="Step.None"/> ends without writing.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<StepResult> ApplyAsync<TState>(
        GenerationJob current,
        TState state,
        Func<GenerationJob, TState, JobStamp, Step> decide,
        CancellationToken cancellationToken = default)
    {
        var job = current;
        for (var i = 0; i < MaxConflicts; i++)
        {
            var stamp = new JobStamp(timeProvider.GetUtcNow(), job.Version + 1);
            var step = decide(job, state, stamp);
            if (step.IsNone)
            {
                return new StepResult(job, Applied: false, Written: false);
            }

            var next = step.Job;
            if (next is not null)
            {
                if (next.Status != job.Status)
                {
                    JobStatusTransitions.EnsureTransition(job.Id, job.Status, next.Status);
                }

                if (next.Version != stamp.Version || next.UpdatedAt != stamp.At)
                {
                    next = next with { UpdatedAt = stamp.At, Version = stamp.Version };
                }
            }

            var effects = step.Effects;
            var statusEvent = _statusEvents is not null && next is not null && effects is { EventError: null } ? effects.Event : null;
            var commit = new JobCommit
            {
                JobId = job.Id,
                OwnerId = job.OwnerId,
                Job = next,
                ExpectedVersion = job.Version,
                Run = (next ?? job).Run,
                Reserve = effects.Reserve,
                Settlement = effects.Settlement,
                Enqueue = effects.Enqueue,
                EnqueueOptions = effects.EnqueueOptions,
                Lease = effects.Lease,
                Event = effects.Event is { } type && statusEvent is null ? BuildEvent(next ?? job, type, stamp.At, effects.EventError) : null,
                PrecedingEvent = effects.PrecedingEvent,

                // The terminal webhook goes with the step that ends the job: atomic where one backend owns the outbox too.
                Webhook = next is not null && next.Status.IsTerminal() && !job.Status.IsTerminal() ? webhooks.CreateDelivery(next, WebhookEventFilter.Completed) : null,
            };
            var applied = statusEvent is { } status
                ? await _statusEvents!.CommitAsync(commit, status).ConfigureAwait(false)
                : await backend.CommitAsync(commit, cancellationToken).ConfigureAwait(false);
            if (applied)
            {
                if (commit.Webhook is not null)
                {
                    webhooks.Wake();
                }

                return new StepResult(next ?? job, Applied: true, Written: next is not null);
            }

            job = await store.GetAsync(job.Id, cancellationToken).ConfigureAwait(false)
                ?? throw new JobNotFoundException(job.Id);
        }

        throw new InvalidOperationException($"Job '{current.Id}' kept changing under {MaxConflicts} consecutive updates.");
    }

    /// <summary>Accepts a new job: create, reserve, enqueue and publish Queued as one step.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<JobCreateResult> SubmitAsync(
        GenerationJob job,
        long credits,
        QueueMessage message,
        EnqueueOptions? enqueueOptions,
        CancellationToken cancellationToken,
        int? maxPendingJobs = null,
        TimeSpan pendingLimitRetryAfter = default)
    {
        var submission = new JobSubmission
        {
            Job = job,
            Credits = credits,
            Message = message,
            EnqueueOptions = enqueueOptions,
            Event = _statusEvents is null ? BuildEvent(job, JobEventType.Queued, job.CreatedAt, error: null) : null,
            MaxPendingJobs = maxPendingJobs,
            PendingLimitRetryAfter = pendingLimitRetryAfter,
        };

        JobCreateResult created;
        try
        {
            created = _statusEvents is not null
                ? await _statusEvents.SubmitAsync(submission, JobEventType.Queued).ConfigureAwait(false)
                : await backend.SubmitAsync(submission, cancellationToken).ConfigureAwait(false);
        }
        catch (JobNotEnqueuedException e)
        {
            // Only the composed store gets here: the job is written and charged but has no message. Fail and refund it.
            Log.EnqueueFailed(logger, job.Id, e.InnerException!);
            var error = new JobError(MediaGenErrorCodes.EnqueueFailed, "The job could not be enqueued: " + e.InnerException!.Message, Retryable: true);
            try
            {
                await FailAsync(e.Job, error, refund: true, lease: null, deadLetter: false, requireHolder: null, e.InnerException).ConfigureAwait(false);
            }
            catch (Exception failure) when (failure is not OperationCanceledException)
            {
                // The store is down too: the job stays Pending with its reservation, and the sweeper enqueues it later.
                Log.RefundFailed(logger, job.Id, failure);
            }

            throw e.InnerException as QueueUnavailableException
                ?? new QueueUnavailableException("The job could not be enqueued; it was failed and its credits refunded. Try again later.", e.InnerException);
        }

        if (created.Created)
        {
            metrics.Submitted.Add(1, new KeyValuePair<string, object?>(MediaGenTelemetry.Tags.Model, job.Request.Model));
            Log.JobSubmitted(logger, job.Id, job.Request.Model, job.OwnerId);
        }

        return created;
    }

    /// <summary>
    /// Serves <paramref name="job"/> from the result cache: copies <paramref name="source"/>'s outputs under the job's
    /// keys and creates it <see cref="JobStatus.Succeeded"/>, charged the cache-hit price, with no message and no provider
    /// call. Returns null when no copy could be made: nothing is kept under the job's id, and the caller generates the
    /// request under a new id. When the owner already has a job with the same idempotency key, that job is returned and
    /// nothing is charged.
    /// </summary>
    /// <remarks>
    /// Not one backend operation (a backend's submit step always enqueues a message), so the effects go in an order the
    /// sweeper finishes after a crash. The reservation comes first and stands for the whole step: while it is open and no
    /// job has the id, the sweeper refunds it and deletes what was stored under the id (copies a crash left behind). Then
    /// the copies, then the job, created finished; last, one commit settles the reservation with the Succeeded event and
    /// the completion webhook (atomic where one backend owns the seams). A job left finished with its reservation open
    /// gets that commit from the sweeper (<see cref="FinishCachedAsync"/>). An id given up is not used again: its
    /// settled reservation would make a later one under it a no-op. A submission that reaches its job write later than half
    /// the sweeper's stale period after its reservation gives up there, so the sweeper never takes a live one for dead
    /// unless it stalls for that long again between that check and the write.
    /// </remarks>
    /// <exception cref="InsufficientCreditsException">The owner cannot pay the cache-hit price; nothing was written.</exception>
    public async ValueTask<JobCreateResult?> SubmitCachedAsync(GenerationJob job, string cacheKey, GenerationJob source, CancellationToken cancellationToken)
    {
        var credits = resultCache.CacheHitCredits;
        var reserving = timeProvider.GetUtcNow(); // no later than the time the ledger stamps on the reservation
        await ledger.ReserveAsync(job.OwnerId, job.RunId, credits, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<JobOutput>? outputs;
        try
        {
            outputs = await resultCache.CopyOutputsAsync(cacheKey, source, job, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await GiveUpCachedAsync(job).ConfigureAwait(false);
            throw;
        }

        if (outputs is null)
        {
            await GiveUpCachedAsync(job).ConfigureAwait(false);
            return null;
        }

        // A submission that stalled this long (a slow copy, a paused process) does not race the sweeper, which would give
        // the reservation back and delete the copies under a job about to be written: it gives up itself, and the
        // caller generates the request under a new id.
        var elapsed = timeProvider.GetUtcNow() - reserving;
        if (elapsed >= _cacheHitBudget)
        {
            Log.CacheHitTooSlow(logger, job.Id, elapsed, _cacheHitBudget);
            await GiveUpCachedAsync(job).ConfigureAwait(false);
            return null;
        }

        // A create that fails may still have written the job (a timeout after the write), so nothing is given back here:
        // the sweeper finds the reservation open and finishes the job, or, when no job has the id, gives both back.
        var created = await store.CreateAsync(
            job with
            {
                Status = JobStatus.Succeeded,
                CacheHit = true,
                Outputs = outputs,
                CreditsCharged = credits,
                StartedAt = job.CreatedAt,
                CompletedAt = job.CreatedAt,
                Progress = 1,
            },
            CancellationToken.None).ConfigureAwait(false);

        if (!created.Created)
        {
            // An idempotent resubmission: the owner's job stands, and this id's copies and reservation are given back.
            await GiveUpCachedAsync(job).ConfigureAwait(false);
            return created;
        }

        try
        {
            if (await FinishCachedAsync(created.Job, CancellationToken.None).ConfigureAwait(false) is { } finished)
            {
                created = created with { Job = finished };
            }
        }
        catch (Exception e)
        {
            // The job stands, finished, with its charge reserved: the caller has its job (a retry would pay twice), and the
            // sweeper makes this commit from the open reservation.
            Log.CacheHitFinishFailed(logger, job.Id, e);
        }

        var model = new KeyValuePair<string, object?>(MediaGenTelemetry.Tags.Model, job.Request.Model);
        metrics.Submitted.Add(1, model);
        metrics.CacheHits.Add(1, model);
        Log.JobSubmitted(logger, job.Id, job.Request.Model, job.OwnerId);
        Log.CacheHit(logger, job.Id, credits);
        OnFinished(created.Job, exception: null);
        return created;
    }

    /// <summary>
    /// The last step of a job served from the result cache, in one commit: its reservation settled (nothing refunded), its
    /// Succeeded event and its completion webhook. The submission's, or the sweeper's when a crash left the job finished
    /// with its reservation open. The commit writes the job again (a new version, nothing else changed), so of two that
    /// start from the same read (a submission that stalled, and the sweeper that took it for dead) only one is applied:
    /// the job gets one Succeeded event and one webhook. Returns the job as written, or null when another commit got there
    /// first or the job is gone.
    /// </summary>
    public async ValueTask<GenerationJob?> FinishCachedAsync(GenerationJob job, CancellationToken cancellationToken)
    {
        var finished = job with { Version = job.Version + 1, UpdatedAt = timeProvider.GetUtcNow() };
        var commit = new JobCommit
        {
            JobId = job.Id,
            OwnerId = job.OwnerId,
            Job = finished,
            ExpectedVersion = job.Version,
            Run = job.Run,
            Settlement = 0,
            Event = BuildEvent(finished, JobEventType.Succeeded, finished.UpdatedAt, error: null),
            Webhook = webhooks.CreateDelivery(finished, WebhookEventFilter.Completed),
        };
        if (!await backend.CommitAsync(commit, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        if (commit.Webhook is not null)
        {
            webhooks.Wake();
        }

        return finished;
    }

    /// <summary>Gives back a cache hit that was not created (see <see cref="GiveBackUncreatedAsync"/>).</summary>
    private async ValueTask GiveUpCachedAsync(GenerationJob job) =>
        await GiveBackUncreatedAsync(job.OwnerId, job.Id, job.RunId, CancellationToken.None).ConfigureAwait(false);

    /// <summary>
    /// Gives back a reservation whose job was never created: deletes what was stored under the job's id first (the copies
    /// of a cache hit that did not go through), then refunds the reservation in full. When the delete fails the
    /// reservation stays open, so the sweeper tries both again; returns the credits refunded.
    /// </summary>
    public async ValueTask<long> GiveBackUncreatedAsync(string ownerId, string jobId, string reservationId, CancellationToken cancellationToken) =>
        await resultCache.DeleteCopiesAsync(jobId).ConfigureAwait(false)
            ? await ledger.RefundAsync(ownerId, reservationId, cancellationToken).ConfigureAwait(false)
            : 0;

    /// <summary>
    /// Starts an attempt under <paramref name="lease"/> for <paramref name="holder"/>, if the job is Pending or its
    /// previous holder's lease has lapsed, and no cancel was asked for. Returns the stored job either way.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<StepResult> StartAsync(GenerationJob job, IQueueLease lease, string holder, CancellationToken cancellationToken)
    {
        var result = await ApplyAsync(job, (Lease: lease, Holder: holder), static (j, s, stamp) =>
            !j.CancelRequested && (j.Status == JobStatus.Pending || (j.Status == JobStatus.Processing && !IsLeaseAlive(j, stamp.At)))
            ? new Step(j with
            {
                Status = JobStatus.Processing,
                Attempt = j.Attempt + 1,
                StartedAt = j.StartedAt ?? stamp.At,
                NextAttemptAt = null,
                Progress = 0,
                ProgressMessage = null,
                LeaseHolder = s.Holder,
                LeaseExpiresAt = s.Lease.LockedUntil,
                UpdatedAt = stamp.At,
                Version = stamp.Version,
            }, new StepEffects(Event: JobEventType.Started))
            : Step.None, cancellationToken).ConfigureAwait(false);
        if (result.Written)
        {
            metrics.Started.Add(1, new KeyValuePair<string, object?>(MediaGenTelemetry.Tags.Model, result.Job.Request.Model));
            await webhooks.NotifyAsync(result.Job, WebhookEventFilter.Start).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>Whether a Processing job's run is still owned by a live lease at <paramref name="now"/>.</summary>
    public static bool IsLeaseAlive(GenerationJob job, DateTimeOffset now) =>
        job.Status == JobStatus.Processing && job.LeaseExpiresAt is { } until && until > now;

    /// <summary>
    /// The holder's heartbeat: extends its run's lease on the job to <paramref name="leaseUntil"/> and persists progress.
    /// Returns the stored job; when it is no longer Processing under <paramref name="holder"/>, nothing was written.
    /// </summary>
    public async ValueTask<GenerationJob> HeartbeatAsync(GenerationJob job, string holder, DateTimeOffset leaseUntil, GenerationProgress? progress)
    {
        var result = await ApplyAsync(job, (Holder: holder, Until: leaseUntil, Progress: progress), static (j, s, stamp) =>
            !IsHeldBy(j, s.Holder)
            ? Step.None
            : new Step(j with
            {
                LeaseExpiresAt = s.Until,
                Progress = s.Progress?.Fraction ?? j.Progress,
                ProgressMessage = s.Progress is { } p ? p.Message : j.ProgressMessage,
                UpdatedAt = stamp.At,
                Version = stamp.Version,
            }, default), CancellationToken.None).ConfigureAwait(false);
        return result.Job;
    }

    /// <summary>Saves the generator's provider handle on the job, while <paramref name="holder"/> still runs it.</summary>
    public async ValueTask<StepResult> CheckpointAsync(GenerationJob job, string holder, string checkpoint, CancellationToken cancellationToken) =>
        await ApplyAsync(job, (Holder: holder, Checkpoint: checkpoint), static (j, s, stamp) => IsHeldBy(j, s.Holder)
            ? new Step(j with { Checkpoint = s.Checkpoint, UpdatedAt = stamp.At, Version = stamp.Version }, default)
            : Step.None, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Finishes the holder's attempt as Succeeded with its outputs and completes the lease. The reservation is settled in
    /// the same step: kept for the outputs delivered, with the share of <paramref name="failedOutputs"/> given back
    /// (<see cref="FailedOutputsShare"/>), once; a redelivery finds the job finished and settles nothing again.
    /// <paramref name="lastOutputEvent"/> (see <see cref="OutputStoredAsync"/>) is published just before Succeeded, in
    /// the same step; when the holder no longer runs the job, it is dropped with the step.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<StepResult> SucceedAsync(
        GenerationJob job, string holder, IQueueLease lease, IReadOnlyList<JobOutput> outputs, IReadOnlyList<OutputFailure> failedOutputs, JobEvent? lastOutputEvent = null)
    {
        await resultCache.RememberAsync(job, outputs, failedOutputs).ConfigureAwait(false);
        var result = await ApplyAsync(job, (Holder: holder, Outputs: outputs, Failed: failedOutputs, Lease: lease, OutputEvent: lastOutputEvent), static (j, s, stamp) =>
        {
            if (!IsHeldBy(j, s.Holder))
            {
                return new Step(null, new StepEffects(Lease: new LeaseSettlement(s.Lease, LeaseAction.Complete)));
            }

            var refund = FailedOutputsShare(j, s.Failed);
            return new Step(
                Finished(j, JobStatus.Succeeded, stamp, refund, outputs: s.Outputs, failedOutputs: s.Failed),
                new StepEffects(Settlement: refund, Lease: new LeaseSettlement(s.Lease, LeaseAction.Complete), Event: JobEventType.Succeeded, PrecedingEvent: s.OutputEvent));
        }, CancellationToken.None).ConfigureAwait(false);
        if (result.Written && result.Job.Status == JobStatus.Succeeded)
        {
            OnFinished(result.Job, exception: null);
        }

        return result;
    }

    /// <summary>
    /// The share of <paramref name="job"/>'s charge that its <paramref name="failedOutputs"/> stand for: the charge times
    /// the failed outputs it paid for (indexes below the outputs asked for) over the outputs asked for, rounded down
    /// (exact for a charge of cost times outputs).
    /// </summary>
    public static long FailedOutputsShare(GenerationJob job, IReadOnlyList<OutputFailure> failedOutputs)
    {
        if (failedOutputs.Count == 0)
        {
            return 0; // the usual case, on every success: nothing to count, nothing allocated
        }

        var asked = job.Request.GetOutputCount();
        var failed = 0;
        foreach (var failure in failedOutputs)
        {
            failed += failure.Index < asked ? 1 : 0;
        }

        if (failed == 0 || job.CreditsCharged <= 0 || asked <= 0)
        {
            return 0;
        }

        return failed >= asked ? job.CreditsCharged : (long)((Int128)job.CreditsCharged * failed / asked);
    }

    /// <summary>Returns the holder's job to Pending with the error, to run again after <paramref name="delay"/>.</summary>
    public async ValueTask<StepResult> RetryLaterAsync(GenerationJob job, string holder, IQueueLease lease, JobError error, TimeSpan delay, Exception? exception)
    {
        var result = await ApplyAsync(job, (Holder: holder, Lease: lease, Error: error, Delay: delay), static (j, s, stamp) => IsHeldBy(j, s.Holder)
            ? new Step(
                Released(j, stamp, j.Attempt, s.Error, stamp.At + s.Delay),
                new StepEffects(Lease: new LeaseSettlement(s.Lease, LeaseAction.Abandon) { Delay = s.Delay }, Event: JobEventType.Retrying, EventError: s.Error))
            : new Step(null, new StepEffects(Lease: new LeaseSettlement(s.Lease, LeaseAction.Abandon) { Delay = s.Delay })), CancellationToken.None).ConfigureAwait(false);
        if (result.Written && result.Job.Status == JobStatus.Pending)
        {
            metrics.Retried.Add(1, new KeyValuePair<string, object?>(MediaGenTelemetry.Tags.ErrorCode, error.Code));
            Log.AttemptRetrying(logger, job.Id, result.Job.Attempt, error.Code, delay, exception);
        }

        return result;
    }

    /// <summary>
    /// Fails the job for good (unless it already finished), refunding its credits when <paramref name="refund"/>, and
    /// completes or dead-letters the lease. With <paramref name="requireHolder"/>, only while that holder runs it.
    /// </summary>
    public async ValueTask<StepResult> FailAsync(GenerationJob job, JobError error, bool refund, IQueueLease? lease, bool deadLetter, string? requireHolder, Exception? exception)
    {
        LeaseSettlement? settle = lease is null ? null : deadLetter
            ? new LeaseSettlement(lease, LeaseAction.DeadLetter) { Reason = error.Code, Description = error.Message }
            : new LeaseSettlement(lease, LeaseAction.Complete);
        var result = await ApplyAsync(job, (Error: error, Refund: refund, Lease: settle, Holder: requireHolder), static (j, s, stamp) =>
        {
            if (j.Status.IsTerminal() || (s.Holder is not null && !IsHeldBy(j, s.Holder)))
            {
                // Finished by another step, or run by another holder now: only settle this delivery.
                return s.Lease is null ? Step.None : new Step(null, new StepEffects(Lease: s.Lease));
            }

            var refunded = s.Refund ? j.CreditsCharged : 0;
            return new Step(
                Finished(j, JobStatus.Failed, stamp, refunded, error: s.Error),
                new StepEffects(Settlement: refunded, Lease: s.Lease, Event: JobEventType.Failed, EventError: s.Error));
        }, CancellationToken.None).ConfigureAwait(false);
        if (result.Written && result.Job.Status == JobStatus.Failed)
        {
            OnFinished(result.Job, exception);
        }

        if (deadLetter && lease is not null)
        {
            metrics.DeadLettered.Add(1, new KeyValuePair<string, object?>(MediaGenTelemetry.Tags.ErrorCode, error.Code));
            Log.MessageDeadLettered(logger, lease.Message.MessageId, error.Code);
        }

        return result;
    }

    /// <summary>Cancels the job (unless it already finished), refunds its credits in full and completes the lease, if any.</summary>
    public async ValueTask<StepResult> CancelAsync(GenerationJob job, IQueueLease? lease)
    {
        LeaseSettlement? settle = lease is null ? null : new LeaseSettlement(lease, LeaseAction.Complete);
        var result = await ApplyAsync(job, settle, static (j, settle, stamp) => j.Status.IsTerminal()
            ? settle is null ? Step.None : new Step(null, new StepEffects(Lease: settle))
            : new Step(
                Finished(j, JobStatus.Canceled, stamp, j.CreditsCharged),
                new StepEffects(Settlement: j.CreditsCharged, Lease: settle, Event: JobEventType.Canceled)), CancellationToken.None).ConfigureAwait(false);
        if (result.Written && result.Job.Status == JobStatus.Canceled)
        {
            OnFinished(result.Job, exception: null);
        }

        return result;
    }

    /// <summary>
    /// An owner's cancel from the API: a Pending job is canceled and refunded at once; a Processing one is marked (and
    /// <see cref="JobEventType.CancelRequested"/> published), then signalled to the worker that runs it, which finishes the
    /// cancel through <see cref="CancelAsync"/>. A signal that does not arrive is made up for by the worker's next lease
    /// renewal, which reads the mark.
    /// </summary>
    public async ValueTask<GenerationJob> RequestCancelAsync(GenerationJob job, CancellationToken cancellationToken)
    {
        var result = await ApplyAsync(job, 0, static (j, _, stamp) => j.Status switch
        {
            JobStatus.Pending => new Step(
                Finished(j, JobStatus.Canceled, stamp, j.CreditsCharged),
                new StepEffects(Settlement: j.CreditsCharged, Event: JobEventType.Canceled)),
            JobStatus.Processing when !j.CancelRequested => new Step(
                j with { CancelRequested = true, UpdatedAt = stamp.At, Version = stamp.Version },
                new StepEffects(Event: JobEventType.CancelRequested)),
            JobStatus.Succeeded or JobStatus.Failed => throw new InvalidJobTransitionException(j.Id, j.Status, JobStatus.Canceled),
            _ => Step.None,
        }, cancellationToken).ConfigureAwait(false);
        if (result.Written && result.Job.Status == JobStatus.Canceled)
        {
            OnFinished(result.Job, exception: null);
        }
        else if (result.Job is { Status: JobStatus.Processing, CancelRequested: true })
        {
            // Signalled again on a repeated request too: the first signal may have been lost.
            try
            {
                await cancelSignal.PublishAsync(result.Job.RunId, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.CancelSignalFailed(logger, result.Job.Id, e);
            }
        }

        return result.Job;
    }

    /// <summary>
    /// The first step of an owner's delete: marks the finished job <see cref="GenerationJob.DeleteRequested"/>, so that no
    /// retry can start a new run while its outputs and record are removed (<see cref="RetryAsync"/> refuses a marked job).
    /// The mark is written only while the job is still in the finished run that <paramref name="job"/> is: a retry that got
    /// there first (a new run, charged) refuses the delete with <see cref="InvalidJobTransitionException"/>, and nothing of
    /// that run is touched. A job marked already (a delete interrupted by a crash) is returned as stored. Returns the
    /// marked job as stored.
    /// </summary>
    public async ValueTask<GenerationJob> RequestDeleteAsync(GenerationJob job, CancellationToken cancellationToken)
    {
        var result = await ApplyAsync(job, job.Run, static (j, run, stamp) =>
        {
            if (j.Run != run || !j.Status.IsTerminal())
            {
                throw ChangedWhileDeleting(j, run);
            }

            return j.DeleteRequested
                ? Step.None
                : new Step(j with { DeleteRequested = true, UpdatedAt = stamp.At, Version = stamp.Version }, default);
        }, cancellationToken).ConfigureAwait(false);
        return result.Job;
    }

    /// <summary>The refusal of a delete whose job is no longer the finished run <paramref name="run"/> that the delete checked.</summary>
    public static InvalidJobTransitionException ChangedWhileDeleting(GenerationJob job, int run) => new(
        job.Id,
        job.Status,
        JobStatus.Canceled,
        $"Job '{job.Id}' changed while it was being deleted: it was finished in run {run} and is now {job.Status} in run {job.Run}. Nothing was deleted.");

    /// <summary>
    /// Hands an interrupted attempt back on shutdown without counting it: the job returns to Pending with its attempt
    /// number given back and its checkpoint kept, and the message returns to the queue at once, its delivery not counted
    /// either (<see cref="IQueueLease.DeferAsync"/>).
    /// </summary>
    public async ValueTask<StepResult> ReturnAsync(GenerationJob job, string holder, IQueueLease lease)
    {
        var settle = new LeaseSettlement(lease, LeaseAction.Abandon) { Deferred = true };
        var result = await ApplyAsync(job, (Holder: holder, Lease: settle), static (j, s, stamp) => IsHeldBy(j, s.Holder)
            ? new Step(
                Released(j, stamp, Math.Max(0, j.Attempt - 1), j.Error, nextAttemptAt: null),
                new StepEffects(Lease: s.Lease))
            : new Step(null, new StepEffects(Lease: s.Lease)), CancellationToken.None).ConfigureAwait(false);
        Log.ReturnedOnShutdown(logger, job.Id);
        return result;
    }

    /// <summary>
    /// A delivery of a finished job: its settlement is applied again (which changes nothing unless a crash left it
    /// undone) and the message is completed.
    /// </summary>
    public async ValueTask DropAsync(GenerationJob job, IQueueLease lease)
    {
        var settlement = job.Status.IsTerminal() ? job.CreditsRefunded : (long?)null;
        await ApplyAsync(job, (Lease: lease, Settlement: settlement), static (j, s, _) =>
            new Step(null, new StepEffects(Settlement: s.Settlement, Lease: new LeaseSettlement(s.Lease, LeaseAction.Complete))), CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Hands a delivery back, untouched, for <paramref name="delay"/>: the provider asked everyone to slow down, or another
    /// delivery's lease on the run is still alive. The delivery is not counted (<see cref="IQueueLease.DeferAsync"/>), so
    /// waiting never uses up the message's deliveries.
    /// </summary>
    public async ValueTask DeferAsync(GenerationJob job, IQueueLease lease, TimeSpan delay) =>
        await ApplyAsync(job, new LeaseSettlement(lease, LeaseAction.Abandon) { Delay = delay, Deferred = true }, static (_, settle, _) =>
            new Step(null, new StepEffects(Lease: settle)), CancellationToken.None).ConfigureAwait(false);

    /// <summary>Settles a finished job's reservation as the job says, if a crash left it open (the sweeper's and delete's step).</summary>
    public async ValueTask SettleFinishedAsync(GenerationJob job, CancellationToken cancellationToken)
    {
        if (job.Status.IsTerminal())
        {
            await ApplyAsync(job, job.CreditsRefunded, static (_, refund, _) => new Step(null, new StepEffects(Settlement: refund)), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The sweeper's step for a job whose message may be lost: write it (so other sweepers skip it for a period) and
    /// enqueue it again, in one commit. Returns whether this call did so.
    /// </summary>
    public async ValueTask<bool> RequeueAsync(GenerationJob job, Func<GenerationJob, DateTimeOffset, bool> stillStale, CancellationToken cancellationToken)
    {
        var result = await ApplyAsync(job, stillStale, static (j, stale, stamp) => stale(j, stamp.At)
            ? new Step(j with { UpdatedAt = stamp.At, Version = stamp.Version }, new StepEffects(
                Enqueue: MessageFor(j, headers: null),
                EnqueueOptions: EnqueueOptionsFor(j)))
            : Step.None, cancellationToken).ConfigureAwait(false);
        return result.Applied;
    }

    /// <summary>
    /// Takes a Failed or Canceled job back to Pending as its next run, in one step: the new run's reservation of
    /// <paramref name="retry"/>'s credits, the job reset for the run, its message and <see cref="JobEventType.Retried"/>.
    /// A job in another state, or one its owner's delete has marked (<see cref="RequestDeleteAsync"/>), is refused with
    /// <see cref="InvalidJobTransitionException"/>, or, when <paramref name="onlyIfFinished"/>, returned unchanged (a
    /// replay of a dead letter whose job was retried already, or is being deleted).
    /// </summary>
    /// <exception cref="InsufficientCreditsException">The owner cannot pay for the run; nothing was written.</exception>
    public async ValueTask<StepResult> RetryAsync(GenerationJob job, RunRetry retry, bool onlyIfFinished, CancellationToken cancellationToken)
    {
        var result = await ApplyAsync(job, (Retry: retry, OnlyIfFinished: onlyIfFinished), static (j, s, stamp) =>
        {
            if (j.Status is not (JobStatus.Failed or JobStatus.Canceled))
            {
                return s.OnlyIfFinished ? Step.None : throw new InvalidJobTransitionException(j.Id, j.Status, JobStatus.Pending);
            }

            // Its owner's delete has begun: the run it checked is the one it removes, so no new run starts.
            if (j.DeleteRequested)
            {
                return s.OnlyIfFinished ? Step.None : throw new InvalidJobTransitionException(
                    j.Id, j.Status, JobStatus.Pending, $"Job '{j.Id}' is being deleted and cannot run again.");
            }

            // The provider's work is worth resuming only after transient failures, and only while its results still exist.
            var resumable = j is { Status: JobStatus.Failed, CompletedAt: { } failedAt }
                && (j.Error?.Retryable == true || j.Error?.Code == MediaGenErrorCodes.AttemptsExhausted)
                && stamp.At - failedAt <= s.Retry.CheckpointResumeWindow;
            var next = j with
            {
                Status = JobStatus.Pending,
                Run = j.Run + 1,
                Attempt = 0,
                StartedAt = null,
                CompletedAt = null,
                NextAttemptAt = null,
                Deadline = stamp.At + s.Retry.Deadline,
                Outputs = [],
                FailedOutputs = [],
                Error = null,
                CreditsCharged = s.Retry.Credits,
                CreditsRefunded = 0,
                Progress = 0,
                ProgressMessage = null,
                Checkpoint = resumable ? j.Checkpoint : null,
                CancelRequested = false,
                LeaseHolder = null,
                LeaseExpiresAt = null,
                UpdatedAt = stamp.At,
                Version = stamp.Version,
            };
            return new Step(next, new StepEffects(
                Reserve: s.Retry.Credits,
                Event: JobEventType.Retried,
                Enqueue: MessageFor(next, s.Retry.Headers),
                EnqueueOptions: EnqueueOptionsFor(next)));
        }, cancellationToken).ConfigureAwait(false);
        if (result.Written)
        {
            metrics.Rerun.Add(1, new KeyValuePair<string, object?>(MediaGenTelemetry.Tags.Model, result.Job.Request.Model));
            Log.JobRetried(logger, result.Job.Id, result.Job.Run, result.Job.CreditsCharged);
        }

        return result;
    }

    /// <summary>The queue message of the job's current run: its id is the run id, so each run's message is distinct.</summary>
    public static QueueMessage MessageFor(GenerationJob job, IReadOnlyDictionary<string, string>? headers) =>
        new(job.Id) { MessageId = job.RunId, GroupId = job.OwnerId, Headers = headers };

    /// <summary>How the job's messages are enqueued: at its priority, null for the default.</summary>
    public static EnqueueOptions? EnqueueOptionsFor(GenerationJob job) =>
        job.Request.Priority == JobPriority.Normal ? null : new EnqueueOptions { Priority = job.Request.Priority };

    /// <summary>Publishes a progress event (not a transition: progress is persisted by the heartbeat).</summary>
    public ValueTask PublishProgressAsync(GenerationJob job, double fraction, string? message) =>
        events.PublishJobEventAsync(job, JobEventType.Progress, timeProvider.GetUtcNow(), progress: fraction, message: message);

    /// <summary>
    /// Says that one output was stored: notifies the webhook and publishes the event, or with <paramref name="last"/>
    /// returns the event instead, for <see cref="SucceedAsync"/> to publish with the step that ends the job (one publish
    /// fewer per job).
    /// </summary>
    public async ValueTask<JobEvent?> OutputStoredAsync(GenerationJob job, JobOutput output, bool last)
    {
        await webhooks.NotifyAsync(job, WebhookEventFilter.Output, output).ConfigureAwait(false);
        var stored = JobEventPublishing.Build(job, JobEventType.OutputStored, timeProvider.GetUtcNow(), output: output);
        if (last)
        {
            return stored;
        }

        await events.PublishAsync(stored, CancellationToken.None).ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// The job ended in <paramref name="status"/> with its run released and <paramref name="refunded"/> credits given
    /// back; a success carries its outputs and clears the error. One copy of the job, as the hot path wants.
    /// </summary>
    private static GenerationJob Finished(
        GenerationJob job, JobStatus status, JobStamp stamp, long refunded, JobError? error = null, IReadOnlyList<JobOutput>? outputs = null, IReadOnlyList<OutputFailure>? failedOutputs = null)
    {
        var succeeded = status == JobStatus.Succeeded;
        return job with
        {
            Status = status,
            CompletedAt = stamp.At,
            NextAttemptAt = null,
            CreditsRefunded = refunded,
            Error = succeeded ? null : error ?? job.Error,
            Outputs = outputs ?? job.Outputs,
            FailedOutputs = failedOutputs ?? job.FailedOutputs,
            Progress = succeeded ? 1 : job.Progress,
            ProgressMessage = succeeded ? null : job.ProgressMessage,
            LeaseHolder = null,
            LeaseExpiresAt = null,
            UpdatedAt = stamp.At,
            Version = stamp.Version,
        };
    }

    /// <summary>The job back in Pending with its run released and its progress cleared, to run again at <paramref name="nextAttemptAt"/>.</summary>
    private static GenerationJob Released(GenerationJob job, JobStamp stamp, int attempt, JobError? error, DateTimeOffset? nextAttemptAt) => job with
    {
        Status = JobStatus.Pending,
        Attempt = attempt,
        Error = error,
        NextAttemptAt = nextAttemptAt,
        Progress = 0,
        ProgressMessage = null,
        LeaseHolder = null,
        LeaseExpiresAt = null,
        UpdatedAt = stamp.At,
        Version = stamp.Version,
    };

    private static bool IsHeldBy(GenerationJob job, string holder) =>
        job.Status == JobStatus.Processing && string.Equals(job.LeaseHolder, holder, StringComparison.Ordinal);

    private static JobEvent BuildEvent(GenerationJob job, JobEventType type, DateTimeOffset at, JobError? error) =>
        JobEventPublishing.Build(job, type, at, error);

    /// <summary>The one place a finished job's metrics and log are produced (its webhook goes with the step's commit).</summary>
    private void OnFinished(GenerationJob job, Exception? exception)
    {
        var model = new KeyValuePair<string, object?>(MediaGenTelemetry.Tags.Model, job.Request.Model);
        var duration = (job.CompletedAt.GetValueOrDefault() - job.CreatedAt).TotalSeconds;
        switch (job.Status)
        {
            case JobStatus.Succeeded:
                metrics.Succeeded.Add(1, model);
                if (job.FailedOutputs.Count > 0)
                {
                    metrics.OutputsFailed.Add(job.FailedOutputs.Count, model);
                    Log.JobPartlySucceeded(logger, job.Id, job.Attempt, job.Outputs.Count, job.FailedOutputs.Count, job.CreditsRefunded);
                }
                else
                {
                    Log.JobSucceeded(logger, job.Id, job.Attempt, job.Outputs.Count);
                }

                break;
            case JobStatus.Failed:
                metrics.Failed.Add(1, model, new KeyValuePair<string, object?>(MediaGenTelemetry.Tags.ErrorCode, job.Error?.Code));
                Log.JobFailed(logger, job.Id, job.Error?.Code ?? string.Empty, job.Error?.Message ?? string.Empty, exception);
                break;
            case JobStatus.Canceled:
                metrics.Canceled.Add(1, model);
                Log.JobCanceled(logger, job.Id);
                return;
        }

        metrics.JobDuration.Record(duration, model);
    }
}

/// <summary>What a new run of a retried job gets: its charge, its deadline, and how long an old checkpoint is still resumable.</summary>
/// <param name="Credits">The new run's charge (the model's current price).</param>
/// <param name="Deadline">How long the new run may take, from the retry.</param>
/// <param name="CheckpointResumeWindow">How long after the failure the provider checkpoint is kept.</param>
/// <param name="Headers">The trace context to carry in the new message.</param>
internal readonly record struct RunRetry(long Credits, TimeSpan Deadline, TimeSpan CheckpointResumeWindow, IReadOnlyDictionary<string, string>? Headers);
