using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen.Internal;

/// <summary>
/// The safety net behind "the job store is the source of truth": enqueues again any job left Pending past its
/// scheduled time (a submitter that crashed before enqueueing, a message lost with a non-durable queue) or Processing
/// with no heartbeat (a worker that died holding a lease the queue could not recover). A duplicate message is
/// harmless: the worker drops messages for finished jobs.
/// </summary>
internal sealed class PendingJobSweeper(
    IJobStore store,
    IJobQueue queue,
    ICreditLedger ledger,
    JobTransitions transitions,
    IOptions<MediaGenerationWorkerOptions> options,
    TimeProvider timeProvider,
    ILogger<PendingJobSweeper> logger) : BackgroundService
{
    private const int BatchSize = 100;
    private static readonly JobStatus[] SweptStatuses = [JobStatus.Pending, JobStatus.Processing];
    private readonly MediaGenerationWorkerOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.SweepInterval <= TimeSpan.Zero)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.SweepInterval, timeProvider, stoppingToken).ConfigureAwait(false);
                await SweepAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Log.SweepFailed(logger, e);
            }
        }
    }

    /// <summary>One pass; returns how many jobs were enqueued again.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var staleBefore = now - _options.StalePendingAfter;
        var swept = 0;
        foreach (var status in SweptStatuses)
        {
            foreach (var job in await store.ListStaleAsync(status, staleBefore, BatchSize, cancellationToken).ConfigureAwait(false))
            {
                if (job.NextAttemptAt is { } next && next > staleBefore)
                {
                    continue;
                }

                // Touch first, so other sweepers skip it for another period; then enqueue.
                var touched = await transitions.UpdateAsync(job, j => j.Status == status && j.UpdatedAt < staleBefore ? j : null, cancellationToken).ConfigureAwait(false);
                if (touched.Version == job.Version)
                {
                    continue;
                }

                if (touched.Status == JobStatus.Pending && touched.Attempt == 0 && !await EnsureChargedAsync(touched, cancellationToken).ConfigureAwait(false))
                {
                    continue;
                }

                var priority = job.Request.Priority;
                await queue.EnqueueAsync(new QueueMessage(job.Id), priority == JobPriority.Normal ? null : new EnqueueOptions { Priority = priority }, cancellationToken).ConfigureAwait(false);
                Log.SweptJob(logger, job.Id, status, job.UpdatedAt);
                swept++;
            }
        }

        return swept;
    }

    /// <summary>
    /// A job that never started may come from a submitter that crashed between writing it and reserving its credits:
    /// reserve now (a no-op when the reservation exists), or fail the job if the owner can no longer pay.
    /// </summary>
    private async Task<bool> EnsureChargedAsync(GenerationJob job, CancellationToken cancellationToken)
    {
        try
        {
            await ledger.ReserveAsync(job.OwnerId, job.Id, job.CreditsCharged, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (InsufficientCreditsException e)
        {
            var now = timeProvider.GetUtcNow();
            await transitions.UpdateAsync(job, j => j.Status == JobStatus.Pending
                ? j with { Status = JobStatus.Failed, CompletedAt = now, Error = new JobError(e.ErrorCode, e.Message, Retryable: false) }
                : null, cancellationToken).ConfigureAwait(false);
            return false;
        }
    }
}
