using Microsoft.Extensions.Logging;

namespace MediaGen.Internal;

/// <summary>
/// The lifecycle store for seams that come from different systems (a Service Bus queue beside a Redis store). It
/// applies a step's effects one seam at a time, in the order that keeps the job store the source of truth: the job
/// first, then the ledger, the queue and the event, and the lease last. A crash in between leaves the lease unsettled,
/// so the message comes back and the worker applies the step's effects again (each is keyed by job id, so nothing
/// happens twice); what no message will come back for (a settlement after a cancel from the API), the sweeper settles
/// from the ledger's open reservations. A step's terminal webhook is added to the outbox right after the job is written:
/// a crash between the two loses that delivery.
/// </summary>
internal sealed class ComposedJobLifecycleStore(
    IJobStore store,
    ICreditLedger ledger,
    IJobQueue queue,
    IJobEventStream events,
    ILogger<ComposedJobLifecycleStore> logger,
    IWebhookOutbox? outbox = null) : IJobLifecycleStore
{
    public async ValueTask<JobCreateResult> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(submission.Job, nameof(submission));
        var created = await store.CreateAsync(submission.Job, cancellationToken).ConfigureAwait(false);
        if (!created.Created)
        {
            return created;
        }

        var job = created.Job;

        // Past this point the job exists: finish or undo without heeding the caller's token, so nothing is left half done.
        // The pending limit is counted after the write (the new job counts itself), so a retried idempotent submission is
        // never refused; concurrent submissions may each see the other and both be refused, never both accepted past it.
        if (submission.MaxPendingJobs is { } max && await CountPendingAsync(job.OwnerId, max + 1).ConfigureAwait(false) > max)
        {
            await store.DeleteAsync(job.Id, CancellationToken.None).ConfigureAwait(false);
            throw new OwnerLimitExceededException(job.OwnerId, OwnerLimit.PendingJobs, max, submission.PendingLimitRetryAfter);
        }

        try
        {
            await ledger.ReserveAsync(job.OwnerId, job.Id, submission.Credits, CancellationToken.None).ConfigureAwait(false);
        }
        catch
        {
            await store.DeleteAsync(job.Id, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        // Queued goes out before the enqueue: once enqueued, a fast worker's Started could otherwise reach subscribers first.
        await PublishAsync(submission.Event).ConfigureAwait(false);
        try
        {
            await queue.EnqueueAsync(submission.Message, submission.EnqueueOptions, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new JobNotEnqueuedException(job, e);
        }

        return created;
    }

    /// <summary>Counts the owner's pending jobs, stopping at <paramref name="upTo"/>.</summary>
    private async ValueTask<int> CountPendingAsync(string ownerId, int upTo)
    {
        var count = 0;
        string? cursor = null;
        do
        {
            var page = await store.ListAsync(
                new JobQuery { OwnerId = ownerId, Status = JobStatus.Pending, Limit = Math.Min(JobQuery.MaxLimit, upTo - count), Cursor = cursor },
                CancellationToken.None).ConfigureAwait(false);
            count += page.Items.Count;
            cursor = page.NextCursor;
        }
        while (cursor is not null && count < upTo);

        return count;
    }

    public async ValueTask<bool> CommitAsync(JobCommit commit, CancellationToken cancellationToken = default)
    {
        commit.EnsureValid();
        var runId = GenerationJob.FormatRunId(commit.JobId, commit.Run);
        if (commit.Reserve is { } credits)
        {
            // Reserved before the job is written, so a run never starts unpaid. When the write then loses to another
            // writer, the reservation stays: a retry decided again reuses it (it is keyed by run), and the sweeper refunds
            // one whose run never started.
            await ledger.ReserveAsync(commit.OwnerId, runId, credits, cancellationToken).ConfigureAwait(false);
        }

        if (commit.Job is { } job && await store.UpdateAsync(job, commit.ExpectedVersion, cancellationToken).ConfigureAwait(false) is null)
        {
            return false;
        }

        // The job is written: what follows must happen whatever the caller's token says.
        if (commit.Settlement is { } refund)
        {
            await ledger.SettleAsync(commit.OwnerId, runId, refund, CancellationToken.None).ConfigureAwait(false);
        }

        if (commit.Enqueue is { } message)
        {
            await queue.EnqueueAsync(message, commit.EnqueueOptions, CancellationToken.None).ConfigureAwait(false);
        }

        await PublishAsync(commit.PrecedingEvent).ConfigureAwait(false);
        await PublishAsync(commit.Event).ConfigureAwait(false);
        if (commit.Webhook is { } webhook && outbox is not null)
        {
            // Right after the job: a crash between the two loses this delivery (the job's state stays readable).
            await AddWebhookAsync(outbox, commit.JobId, webhook, logger).ConfigureAwait(false);
        }

        if (commit.Lease is { Action: not LeaseAction.Keep } lease)
        {
            await SettleLeaseAsync(commit.JobId, lease).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>Adds a step's webhook delivery after the step committed; a failure is logged as a lost delivery, never thrown.</summary>
    internal static async ValueTask AddWebhookAsync(IWebhookOutbox outbox, string jobId, WebhookDelivery webhook, ILogger logger)
    {
        try
        {
            await outbox.AddAsync(webhook, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.WebhookNotStored(logger, jobId, webhook.Id, e);
        }
    }

    private async ValueTask PublishAsync(JobEvent? jobEvent)
    {
        if (jobEvent is null)
        {
            return;
        }

        try
        {
            await events.PublishAsync(jobEvent, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Events are live and best effort; the job store holds the state a subscriber reads on reconnect.
            Log.PublishFailed(logger, jobEvent.JobId, jobEvent.Type, e);
        }
    }

    private async ValueTask SettleLeaseAsync(string jobId, LeaseSettlement settlement)
    {
        try
        {
            await settlement.ApplyAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A lost lease or a queue fault: the message comes back, finds the job as this step left it, and is dropped.
            Log.SettleFailed(logger, jobId, e);
        }
    }
}

/// <summary>Settles a lease as a <see cref="LeaseSettlement"/> says, through the queue's own lease.</summary>
/// <summary>
/// The job was created and charged but its message could not be enqueued; the lifecycle fails and refunds it. Only the
/// composed store throws it: an atomic store writes nothing when it cannot enqueue.
/// </summary>
internal sealed class JobNotEnqueuedException(GenerationJob job, Exception inner)
    : Exception("The job could not be enqueued.", inner)
{
    public GenerationJob Job { get; } = job;
}
