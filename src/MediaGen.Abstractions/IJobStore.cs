namespace MediaGen;

/// <summary>
/// Stores <see cref="GenerationJob"/> records: the source of truth for job state. Updates are conditional on
/// <see cref="GenerationJob.Version"/>. Owner scoping is applied by callers through <see cref="GenerationJob.OwnerId"/>
/// and by <see cref="ListAsync"/>.
/// </summary>
public interface IJobStore
{
    /// <summary>
    /// Creates a job with <see cref="GenerationJob.Version"/> 1, unless the owner already has a job with the same
    /// <see cref="GenerationRequest.IdempotencyKey"/>, in which case that job is returned and nothing is written.
    /// </summary>
    /// <param name="job">The new job.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The stored job, and whether this call created it.</returns>
    ValueTask<JobCreateResult> CreateAsync(GenerationJob job, CancellationToken cancellationToken = default);

    /// <summary>Gets a job by id, whatever its owner.</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The job, or null.</returns>
    ValueTask<GenerationJob?> GetAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces a job if its stored version is still <paramref name="expectedVersion"/>. The stored job gets
    /// version <paramref name="expectedVersion"/> + 1 whatever <paramref name="job"/> says.
    /// </summary>
    /// <param name="job">The new state.</param>
    /// <param name="expectedVersion">The version the caller read.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The stored job, or null when the job is missing or was changed since it was read.</returns>
    ValueTask<GenerationJob?> UpdateAsync(GenerationJob job, long expectedVersion, CancellationToken cancellationToken = default);

    /// <summary>Lists an owner's jobs, newest first, optionally with one status.</summary>
    /// <param name="query">The owner, status filter, cursor and page size.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>One page and the cursor of the next.</returns>
    ValueTask<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lists jobs of any owner in <paramref name="status"/> not written since <paramref name="updatedBefore"/>, for the
    /// sweeper that re-enqueues jobs whose message was lost.
    /// </summary>
    /// <param name="status">The status.</param>
    /// <param name="updatedBefore">Only jobs whose <see cref="GenerationJob.UpdatedAt"/> is earlier.</param>
    /// <param name="maxCount">The most to return.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The jobs.</returns>
    ValueTask<IReadOnlyList<GenerationJob>> ListStaleAsync(JobStatus status, DateTimeOffset updatedBefore, int maxCount, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lists the most recently written jobs of any owner in <paramref name="status"/>, newest first, for operators (the
    /// dashboard's recent failures).
    /// </summary>
    /// <param name="status">The status.</param>
    /// <param name="maxCount">The most to return.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>Up to <paramref name="maxCount"/> jobs, by <see cref="GenerationJob.UpdatedAt"/>, latest first.</returns>
    ValueTask<IReadOnlyList<GenerationJob>> ListRecentAsync(JobStatus status, int maxCount, CancellationToken cancellationToken = default);

    /// <summary>Deletes a job and frees its idempotency key, whatever its state.</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns><see langword="true"/> when it existed.</returns>
    ValueTask<bool> DeleteAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes a job as <see cref="DeleteAsync(string, CancellationToken)"/> does, but only if it is finished
    /// (<see cref="JobStatus.Succeeded"/>, <see cref="JobStatus.Failed"/> or <see cref="JobStatus.Canceled"/>) and its
    /// stored version is still <paramref name="expectedVersion"/>: the owner's delete
    /// (<see cref="IMediaGenerationClient.DeleteAsync"/>) removes the job it checked, never a run that started since
    /// (a retry writes a new version). The check and the delete are one atomic operation in MediaGen's stores (one SQL
    /// statement, one Lua script, one critical section).
    /// </summary>
    /// <remarks>
    /// The default implementation, for stores written before this member existed, reads the job, checks it and then calls
    /// <see cref="DeleteAsync(string, CancellationToken)"/>: not atomic, so a write landing between the read and the delete
    /// is lost with the job. MediaGen's delete marks the job first (<see cref="GenerationJob.DeleteRequested"/>) and never
    /// retries a marked job, so none of its own writes starts a new run in that gap; a store should still override this
    /// with one conditional delete.
    /// </remarks>
    /// <param name="jobId">The job id.</param>
    /// <param name="expectedVersion">The version the caller read and checked.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>
    /// <see langword="true"/> when the job was deleted; <see langword="false"/> when it is missing, was changed since it was
    /// read, or is not finished, in which case nothing was deleted.
    /// </returns>
    async ValueTask<bool> DeleteFinishedAsync(string jobId, long expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        var job = await GetAsync(jobId, cancellationToken).ConfigureAwait(false);
        return job is not null
            && job.Version == expectedVersion
            && job.Status.IsTerminal()
            && await DeleteAsync(jobId, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>The result of <see cref="IJobStore.CreateAsync"/>.</summary>
/// <param name="Job">The stored job: the new one, or the one the idempotency key already named.</param>
/// <param name="Created">Whether this call created it.</param>
public readonly record struct JobCreateResult(GenerationJob Job, bool Created);

/// <summary>A page request for <see cref="IJobStore.ListAsync"/>.</summary>
public sealed record JobQuery
{
    /// <summary>The largest page allowed.</summary>
    public const int MaxLimit = 200;

    /// <summary>The owner whose jobs to list.</summary>
    public required string OwnerId { get; init; }

    /// <summary>Only jobs with this status; null for all.</summary>
    public JobStatus? Status { get; init; }

    /// <summary>The <see cref="JobPage.NextCursor"/> of the previous page; null for the first.</summary>
    public string? Cursor { get; init; }

    /// <summary>The page size, 1 to <see cref="MaxLimit"/>.</summary>
    public int Limit { get; init; } = 50;
}

/// <summary>One page of jobs.</summary>
/// <param name="Items">The jobs, newest first.</param>
/// <param name="NextCursor">The cursor of the next page, or null on the last.</param>
public sealed record JobPage(IReadOnlyList<GenerationJob> Items, string? NextCursor);
