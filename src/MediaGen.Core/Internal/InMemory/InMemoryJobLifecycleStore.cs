using Microsoft.Extensions.Logging;

namespace MediaGen.Internal;

/// <summary>
/// The lifecycle store of the in-memory backend: each step is one critical section over the in-memory job store,
/// ledger, queue and event stream, so no other step sees it half applied. Those seams complete synchronously, which is
/// what lets a step run under a lock. A step's terminal webhook joins the critical section when the outbox is the
/// in-memory one too.
/// </summary>
internal sealed class InMemoryJobLifecycleStore(
    InMemoryJobStore store,
    InMemoryCreditLedger ledger,
    InMemoryJobQueue queue,
    IJobEventStream events,
    ILogger<InMemoryJobLifecycleStore> logger,
    IWebhookOutbox? outbox = null) : IJobLifecycleStore, IStatusEventLifecycleStore
{
    private readonly Lock _gate = new();

    public bool TakesStatusEvents => true;

    public ValueTask<JobCreateResult> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken = default) =>
        Submit(submission, statusEvent: null);

    /// <summary>
    /// Submits with the job's Queued event given by its type alone (see <see cref="IStatusEventLifecycleStore"/>): the
    /// event stream keeps it without the event object being made (see <see cref="IJobStatusEventSink"/>).
    /// </summary>
    public ValueTask<JobCreateResult> SubmitAsync(JobSubmission submission, JobEventType statusEvent) => Submit(submission, statusEvent);

    private ValueTask<JobCreateResult> Submit(JobSubmission submission, JobEventType? statusEvent)
    {
        ArgumentNullException.ThrowIfNull(submission.Job, nameof(submission));
        lock (_gate)
        {
            var created = Done(store.CreateAsync(submission.Job, CancellationToken.None));
            if (!created.Created)
            {
                return ValueTask.FromResult(created);
            }

            // The new job counts itself: past the limit it is removed again, before anything else was written.
            if (submission.MaxPendingJobs is { } max && store.PendingCount(submission.Job.OwnerId) > max)
            {
                Done(store.DeleteAsync(submission.Job.Id, CancellationToken.None));
                throw new OwnerLimitExceededException(submission.Job.OwnerId, OwnerLimit.PendingJobs, max, submission.PendingLimitRetryAfter);
            }

            try
            {
                Done(ledger.ReserveAsync(submission.Job.OwnerId, submission.Job.Id, submission.Credits, CancellationToken.None));
            }
            catch
            {
                Done(store.DeleteAsync(submission.Job.Id, CancellationToken.None));
                throw;
            }

            Publish(submission.Event);
            PublishStatus(submission.Job, statusEvent, submission.Job.CreatedAt);
            Done(queue.EnqueueAsync(submission.Message, submission.EnqueueOptions, CancellationToken.None));
            return ValueTask.FromResult(created);
        }
    }

    public ValueTask<bool> CommitAsync(JobCommit commit, CancellationToken cancellationToken = default) => Commit(commit, statusEvent: null);

    /// <summary>
    /// Commits a step whose event is given by its type alone, at the written job's <see cref="GenerationJob.UpdatedAt"/>
    /// with its status and attempt (see <see cref="IStatusEventLifecycleStore"/>; the commit carries no event of its own,
    /// only, where it has one, the event published just before it: the last output's, with Succeeded).
    /// </summary>
    public ValueTask<bool> CommitAsync(JobCommit commit, JobEventType statusEvent)
    {
        if (commit.Job is null || commit.Event is not null)
        {
            throw new ArgumentException("A status event rides only with a step that writes its job and publishes no event of its own.", nameof(commit));
        }

        return Commit(commit, statusEvent);
    }

    private ValueTask<bool> Commit(JobCommit commit, JobEventType? statusEvent)
    {
        if (statusEvent is null || commit.PrecedingEvent is null)
        {
            commit.EnsureValid();
        }
        else
        {
            // The status event stands in for the commit's own event, which a preceding event otherwise needs: validated
            // as if it were there.
            ArgumentOutOfRangeException.ThrowIfNegative(commit.Settlement ?? 0, nameof(commit));
            ArgumentOutOfRangeException.ThrowIfNegative(commit.Reserve ?? 0, nameof(commit));
            if (!string.Equals(commit.PrecedingEvent.JobId, commit.JobId, StringComparison.Ordinal))
            {
                throw new ArgumentException("A preceding event rides only with a step that writes its job and publishes an event of that job.", nameof(commit));
            }
        }

        var applied = Apply(commit, statusEvent);

        // A webhook outbox of another backend cannot join the critical section: it gets the delivery right after.
        return applied && commit.Webhook is { } webhook && outbox is not null and not InMemoryWebhookOutbox
            ? AddWebhookAfterAsync(outbox, commit.JobId, webhook)
            : ValueTask.FromResult(applied);
    }

    private async ValueTask<bool> AddWebhookAfterAsync(IWebhookOutbox other, string jobId, WebhookDelivery webhook)
    {
        await ComposedJobLifecycleStore.AddWebhookAsync(other, jobId, webhook, logger).ConfigureAwait(false);
        return true;
    }

    private bool Apply(JobCommit commit, JobEventType? statusEvent)
    {
        var runId = GenerationJob.FormatRunId(commit.JobId, commit.Run);
        lock (_gate)
        {
            if (commit.Reserve is { } credits)
            {
                // The version first, so a step refused for it reserves nothing; a short balance throws before any write.
                if (commit.Job is not null && Done(store.GetAsync(commit.JobId, CancellationToken.None))?.Version != commit.ExpectedVersion)
                {
                    return false;
                }

                Done(ledger.ReserveAsync(commit.OwnerId, runId, credits, CancellationToken.None));
            }

            if (commit.Job is { } job && Done(store.UpdateAsync(job, commit.ExpectedVersion, CancellationToken.None)) is null)
            {
                return false;
            }

            if (commit.Settlement is { } refund)
            {
                Done(ledger.SettleAsync(commit.OwnerId, runId, refund, CancellationToken.None));
            }

            if (commit.Enqueue is { } message)
            {
                Done(queue.EnqueueAsync(message, commit.EnqueueOptions, CancellationToken.None));
            }

            Publish(commit.PrecedingEvent);
            Publish(commit.Event);
            PublishStatus(commit.Job, statusEvent, commit.Job?.UpdatedAt ?? default);
            if (commit.Webhook is { } webhook && outbox is InMemoryWebhookOutbox inMemoryOutbox)
            {
                try
                {
                    Done(inMemoryOutbox.AddAsync(webhook, CancellationToken.None));
                }
                catch (QueueUnavailableException e)
                {
                    // The outbox is full: the step stands without its webhook.
                    Log.WebhookNotStored(logger, commit.JobId, webhook.Id, e);
                }
            }

            if (commit.Lease is { Action: not LeaseAction.Keep } lease)
            {
                try
                {
                    Done(lease.ApplyAsync());
                }
                catch (LeaseLostException e)
                {
                    // The message is with another delivery already; it finds the job as this step left it.
                    Log.SettleFailed(logger, commit.JobId, e);
                }
            }

            return true;
        }
    }

    private void Publish(JobEvent? jobEvent)
    {
        if (jobEvent is not null)
        {
            Done(events.PublishAsync(jobEvent, CancellationToken.None));
        }
    }

    private void PublishStatus(GenerationJob? job, JobEventType? type, DateTimeOffset timestamp)
    {
        if (job is null || type is not { } status)
        {
            return;
        }

        if (events is IJobStatusEventSink sink)
        {
            sink.PublishStatus(job, status, timestamp);
        }
        else
        {
            Done(events.PublishAsync(JobEventPublishing.Build(job, status, timestamp), CancellationToken.None));
        }
    }

    // The in-memory seams finish before they return; a faulted task rethrows its exception as it is.
    private static T Done<T>(ValueTask<T> task)
    {
        if (!task.IsCompleted)
        {
            throw new InvalidOperationException("An in-memory seam did not complete synchronously.");
        }

        return task.IsCompletedSuccessfully ? task.Result : Rethrow<T>(task.AsTask());
    }

    private static void Done(ValueTask task)
    {
        if (!task.IsCompleted)
        {
            throw new InvalidOperationException("An in-memory seam did not complete synchronously.");
        }

        if (!task.IsCompletedSuccessfully)
        {
            Rethrow<bool>(task.AsTask());
        }
    }

    private static T Rethrow<T>(Task task)
    {
        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(task.Exception!.InnerException!);
        return default!;
    }
}
