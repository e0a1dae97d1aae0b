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
    IWebhookOutbox? outbox = null) : IJobLifecycleStore
{
    private readonly Lock _gate = new();

    public ValueTask<JobCreateResult> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken = default)
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
            Done(queue.EnqueueAsync(submission.Message, submission.EnqueueOptions, CancellationToken.None));
            return ValueTask.FromResult(created);
        }
    }

    public ValueTask<bool> CommitAsync(JobCommit commit, CancellationToken cancellationToken = default)
    {
        commit.EnsureValid();
        var applied = Commit(commit);

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

    private bool Commit(JobCommit commit)
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
