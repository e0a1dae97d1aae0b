using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen.Internal;

/// <summary>
/// The safety net behind "the job store is the source of truth". It enqueues again any job left Pending past its
/// scheduled time (a submitter that crashed before enqueueing, a message lost with a non-durable queue) or Processing
/// under a lease that lapsed long ago (a worker that died holding a message the queue could not return); and it settles
/// the credit reservations that a crash left open (a finished job whose refund never reached the ledger, a submission
/// that reserved and then lost its job). A duplicate message is harmless: the worker drops messages for finished jobs
/// and for runs another live lease owns.
/// </summary>
internal sealed class PendingJobSweeper(
    IJobStore store,
    ICreditLedger ledger,
    JobLifecycle lifecycle,
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
                if (!IsStale(job, staleBefore))
                {
                    continue;
                }

                if (job.Status == JobStatus.Pending && job.Attempt == 0 && !await EnsureChargedAsync(job, cancellationToken).ConfigureAwait(false))
                {
                    continue;
                }

                // Written and enqueued in one step, so other sweepers skip it for another period.
                var requeued = await lifecycle.RequeueAsync(job, (j, at) => j.Status == job.Status && IsStale(j, at - _options.StalePendingAfter), cancellationToken).ConfigureAwait(false);
                if (requeued)
                {
                    Log.SweptJob(logger, job.Id, status, job.UpdatedAt);
                    swept++;
                }
            }
        }

        await SettleOpenReservationsAsync(staleBefore, cancellationToken).ConfigureAwait(false);
        return swept;
    }

    /// <summary>
    /// A Pending job untouched since <paramref name="staleBefore"/> whose retry is due by then, or a Processing job whose
    /// run's lease lapsed before then (or that has no lease on record).
    /// </summary>
    private static bool IsStale(GenerationJob job, DateTimeOffset staleBefore) => job.Status switch
    {
        JobStatus.Pending => job.UpdatedAt < staleBefore && (job.NextAttemptAt is not { } next || next <= staleBefore),
        JobStatus.Processing => job.UpdatedAt < staleBefore && (job.LeaseExpiresAt is not { } until || until < staleBefore),
        _ => false,
    };

    /// <summary>
    /// A job that never started may come from a submitter that crashed between writing it and reserving its credits:
    /// reserve now (a no-op when the reservation exists), or fail the job if the owner can no longer pay.
    /// </summary>
    private async Task<bool> EnsureChargedAsync(GenerationJob job, CancellationToken cancellationToken)
    {
        try
        {
            await ledger.ReserveAsync(job.OwnerId, job.RunId, job.CreditsCharged, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (InsufficientCreditsException e)
        {
            await lifecycle.FailAsync(job, new JobError(e.ErrorCode, e.Message, Retryable: false), refund: false, lease: null, deadLetter: false, requireHolder: null, exception: e).ConfigureAwait(false);
            return false;
        }
    }

    /// <summary>
    /// Settles reservations left open for longer than a stale period: as its job says when the job finished (a job served
    /// from the result cache gets its last commit, event and webhook included), in full when the job does not exist (a
    /// submission undone by a crash; what it stored under the job's id is deleted first) or is in another run (an earlier
    /// run that failed or was canceled, both refunded in full, or a retry's run that was reserved but never written), and
    /// not at all while the job's run is still live.
    /// </summary>
    private async Task SettleOpenReservationsAsync(DateTimeOffset reservedBefore, CancellationToken cancellationToken)
    {
        foreach (var open in await ledger.ListOpenReservationsAsync(reservedBefore, BatchSize, cancellationToken).ConfigureAwait(false))
        {
            var (jobId, run) = JobRunIds.Parse(open.JobId);
            var job = await store.GetAsync(jobId, cancellationToken).ConfigureAwait(false);
            if (job is null)
            {
                // A submission that reserved and never created its job: anything it stored under the id goes too.
                var refunded = await lifecycle.GiveBackUncreatedAsync(open.OwnerId, jobId, open.JobId, cancellationToken).ConfigureAwait(false);
                Log.SweptReservation(logger, open.JobId, refunded);
            }
            else if (!string.Equals(job.OwnerId, open.OwnerId, StringComparison.Ordinal) || job.Run != run)
            {
                var refunded = await ledger.SettleAsync(open.OwnerId, open.JobId, open.Amount, cancellationToken).ConfigureAwait(false);
                Log.SweptReservation(logger, open.JobId, refunded);
            }
            else if (job is { Status: JobStatus.Succeeded, CacheHit: true })
            {
                // Served from the cache, and the submission died before its last commit: that commit, now.
                await lifecycle.FinishCachedAsync(job, cancellationToken).ConfigureAwait(false);
                Log.SweptReservation(logger, open.JobId, 0);
            }
            else if (job.Status.IsTerminal())
            {
                await lifecycle.SettleFinishedAsync(job, cancellationToken).ConfigureAwait(false);
                Log.SweptReservation(logger, open.JobId, job.CreditsRefunded);
            }
        }
    }
}
