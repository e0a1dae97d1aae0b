namespace MediaGen.Internal;

/// <summary>
/// Writes job changes under optimistic concurrency: a change is a function of the job as stored, re-applied to a
/// fresh read when another writer got there first. Status changes are checked against <see cref="JobStatusTransitions"/>.
/// </summary>
internal sealed class JobTransitions(IJobStore store, TimeProvider timeProvider)
{
    private const int MaxConflicts = 16;

    public TimeProvider Time => timeProvider;

    /// <summary>Applies <paramref name="change"/> (null means "no change wanted") and returns the stored job.</summary>
    public async ValueTask<GenerationJob> UpdateAsync(GenerationJob current, Func<GenerationJob, GenerationJob?> change, CancellationToken cancellationToken = default)
    {
        var job = current;
        for (var i = 0; i < MaxConflicts; i++)
        {
            var next = change(job);
            if (next is null)
            {
                return job;
            }

            if (next.Status != job.Status)
            {
                JobStatusTransitions.EnsureTransition(job.Id, job.Status, next.Status);
            }

            next = next with { UpdatedAt = timeProvider.GetUtcNow() };
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
