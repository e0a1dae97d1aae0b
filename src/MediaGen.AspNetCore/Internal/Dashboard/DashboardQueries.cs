using Microsoft.Extensions.Options;

namespace MediaGen.AspNetCore.Internal.Dashboard;

/// <summary>
/// What the dashboard's panels show, read through MediaGen's seams: the queue's depth figures, the job store's pending and
/// running jobs (at most <see cref="MediaGenerationDashboardOptions.ScanLimit"/> of each) and its newest failed ones, the worker
/// registry, the dead letters, and a job's kept event history. Nothing here is scoped to an owner: the dashboard is for operators.
/// </summary>
internal sealed class DashboardQueries(
    IJobQueue queue,
    IJobStore store,
    IWorkerRegistry workers,
    IJobEventStream events,
    DashboardThroughput throughput,
    ResponseMapper mapper,
    IOptions<MediaGenerationDashboardOptions> options,
    TimeProvider timeProvider)
{
    private readonly MediaGenerationDashboardOptions _options = options.Value;

    public async ValueTask<QueueOverview> GetQueueAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var depth = await queue.GetDepthAsync(cancellationToken).ConfigureAwait(false);
        var pending = await store.ListStaleAsync(JobStatus.Pending, now.AddSeconds(1), _options.ScanLimit, cancellationToken).ConfigureAwait(false);
        var processing = await store.ListStaleAsync(JobStatus.Processing, now.AddSeconds(1), _options.ScanLimit, cancellationToken).ConfigureAwait(false);
        var byState = pending.Concat(processing)
            .GroupBy(j => (j.Status, j.Request.Priority))
            .OrderBy(g => g.Key.Status).ThenByDescending(g => g.Key.Priority)
            .Select(g => new StateCount(g.Key.Status, g.Key.Priority, g.Count()))
            .ToList();
        var oldest = pending.Count == 0 ? (DateTimeOffset?)null : pending.Min(j => j.CreatedAt);
        return new QueueOverview(
            depth,
            byState,
            oldest,
            oldest is { } created ? Math.Max(0, (now - created).TotalSeconds) : null,
            pending.Count >= _options.ScanLimit || processing.Count >= _options.ScanLimit,
            now);
    }

    public ThroughputOverview GetThroughput() => new(_options.ThroughputMinutes, throughput.Read());

    public async ValueTask<IReadOnlyList<RunningJob>> GetRunningAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var processing = await store.ListStaleAsync(JobStatus.Processing, now.AddSeconds(1), _options.ScanLimit, cancellationToken).ConfigureAwait(false);
        return processing
            .OrderBy(j => j.StartedAt ?? j.CreatedAt)
            .Select(j => new RunningJob(j.Id, j.OwnerId, j.Request.Model, j.Attempt, j.Run, j.Progress, j.ProgressMessage, WorkerOf(j.LeaseHolder), j.StartedAt, j.LeaseExpiresAt, j.CancelRequested))
            .ToList();
    }

    public async ValueTask<IReadOnlyList<WorkerHeartbeat>> GetWorkersAsync(CancellationToken cancellationToken) =>
        await workers.ListAsync(timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<FailedJob>> GetFailuresAsync(CancellationToken cancellationToken)
    {
        var failed = await store.ListRecentAsync(JobStatus.Failed, _options.ListLimit, cancellationToken).ConfigureAwait(false);
        return failed
            .Select(j => new FailedJob(j.Id, j.OwnerId, j.Request.Model, j.Attempt, j.Run, j.Error?.Code, j.Error?.Message, j.CompletedAt ?? j.UpdatedAt))
            .ToList();
    }

    public async ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(CancellationToken cancellationToken)
    {
        var letters = await queue.ListDeadLettersAsync(_options.ListLimit, cancellationToken).ConfigureAwait(false);
        var result = new List<DeadLetter>(letters.Count);
        foreach (var letter in letters)
        {
            var job = await store.GetAsync(letter.Message.JobId, cancellationToken).ConfigureAwait(false);
            result.Add(new DeadLetter(
                letter.Message.MessageId,
                letter.Message.JobId,
                job?.OwnerId,
                job?.Request.Model,
                job?.Status,
                letter.Reason,
                letter.Description,
                letter.DeliveryCount,
                letter.DeadLetteredAt));
        }

        return result;
    }

    public async ValueTask<JobDetail?> GetJobAsync(string jobId, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(jobId, cancellationToken).ConfigureAwait(false) is not { } job)
        {
            return null;
        }

        var history = await events.GetHistoryAsync(jobId, afterSequence: 0, cancellationToken).ConfigureAwait(false);
        var kept = new JobEventResponse[history.Count];
        for (var i = 0; i < kept.Length; i++)
        {
            kept[i] = await mapper.ToResponseAsync(history[i], cancellationToken).ConfigureAwait(false);
        }

        return new JobDetail(
            await mapper.ToResponseAsync(job, cancellationToken).ConfigureAwait(false),
            kept,
            job.OwnerId,
            job.Checkpoint,
            job.LeaseHolder,
            WorkerOf(job.LeaseHolder),
            job.LeaseExpiresAt,
            job.Deadline);
    }

    /// <summary>A lease holder is <c>{workerId}/{attempt number}</c>: the worker is what comes before the last slash.</summary>
    private static string? WorkerOf(string? leaseHolder) =>
        leaseHolder is null ? null : leaseHolder.LastIndexOf('/') is > 0 and var slash ? leaseHolder[..slash] : leaseHolder;
}

/// <summary>The queue panel.</summary>
internal sealed record QueueOverview(QueueDepth Depth, IReadOnlyList<StateCount> Jobs, DateTimeOffset? OldestPendingCreatedAt, double? OldestPendingAgeSeconds, bool ScanLimitReached, DateTimeOffset Now);

/// <summary>Jobs in one status and priority.</summary>
internal sealed record StateCount(JobStatus Status, JobPriority Priority, int Count);

/// <summary>The throughput panel.</summary>
internal sealed record ThroughputOverview(int Minutes, IReadOnlyList<ModelThroughput> Models);

/// <summary>A running job.</summary>
internal sealed record RunningJob(string Id, string OwnerId, string Model, int Attempt, int Run, double Progress, string? ProgressMessage, string? Worker, DateTimeOffset? StartedAt, DateTimeOffset? LeaseExpiresAt, bool CancelRequested);

/// <summary>A job that failed for good.</summary>
internal sealed record FailedJob(string Id, string OwnerId, string Model, int Attempt, int Run, string? Code, string? Message, DateTimeOffset FailedAt);

/// <summary>A dead letter and what its job is now.</summary>
internal sealed record DeadLetter(string MessageId, string JobId, string? OwnerId, string? Model, JobStatus? JobStatus, string Reason, string? Description, int DeliveryCount, DateTimeOffset DeadLetteredAt);

/// <summary>A job as the operator sees it: the API's view, its kept events (oldest first), and what only operators see.</summary>
internal sealed record JobDetail(JobResponse Job, IReadOnlyList<JobEventResponse> Events, string OwnerId, string? Checkpoint, string? LeaseHolder, string? Worker, DateTimeOffset? LeaseExpiresAt, DateTimeOffset? Deadline);
