namespace MediaGen.Internal;

/// <summary>The <see cref="GenerationJob.UpdatedAt"/> and <see cref="GenerationJob.Version"/> an update must carry.</summary>
/// <param name="At">The write time.</param>
/// <param name="Version">The version the stored job will have.</param>
internal readonly record struct JobStamp(DateTimeOffset At, long Version);

/// <summary>
/// Writes job changes under optimistic concurrency: a change is a function of the job as stored, re-applied to a
/// fresh read when another writer got there first. Status changes are checked against <see cref="JobStatusTransitions"/>.
/// </summary>
internal sealed class JobTransitions(IJobStore store, TimeProvider timeProvider)
{
    private const int MaxConflicts = 16;

    public TimeProvider Time => timeProvider;

    /// <summary>Applies <paramref name="change"/> (null means "no change wanted") and returns the stored job.</summary>
    public ValueTask<GenerationJob> UpdateAsync(GenerationJob current, Func<GenerationJob, GenerationJob?> change, CancellationToken cancellationToken = default) =>
        UpdateAsync(current, change, static (job, change, _) => change(job), cancellationToken);

    /// <summary>
    /// Applies <paramref name="change"/> with its own state, so hot paths need no closure. A change that copies the
    /// <see cref="JobStamp"/> into its result (<c>j with { ..., UpdatedAt = s.At, Version = s.Version }</c>) costs one
    /// copy of the job; one that does not is stamped with a second copy.
    /// </summary>
    public async ValueTask<GenerationJob> UpdateAsync<TState>(GenerationJob current, TState state, Func<GenerationJob, TState, JobStamp, GenerationJob?> change, CancellationToken cancellationToken = default)
    {
        var job = current;
        for (var i = 0; i < MaxConflicts; i++)
        {
            var stamp = new JobStamp(timeProvider.GetUtcNow(), job.Version + 1);
            var next = change(job, state, stamp);
            if (next is null)
            {
                return job;
            }

            if (next.Status != job.Status)
            {
                JobStatusTransitions.EnsureTransition(job.Id, job.Status, next.Status);
            }

            if (next.Version != stamp.Version || next.UpdatedAt != stamp.At)
            {
                next = next with { UpdatedAt = stamp.At, Version = stamp.Version };
            }

            if (await store.UpdateAsync(next, job.Version, cancellationToken).ConfigureAwait(false) is { } stored)
            {
                return stored;
            }

            job = await store.GetAsync(job.Id, cancellationToken).ConfigureAwait(false)
                ?? throw new JobNotFoundException(job.Id);
        }

        throw new InvalidOperationException($"Job '{current.Id}' kept changing under {MaxConflicts} consecutive updates.");
    }
}
