namespace MediaGen.Internal;

/// <summary>
/// A lifecycle store that takes a step's event by its type alone when the event says only what happened to the job the
/// step writes (Queued at its creation, Started, Succeeded at its new <see cref="GenerationJob.UpdatedAt"/>, with its
/// status and attempt), and keeps it without the event object being made. The in-memory store is one; a decorator of it
/// (a test's fault injection) forwards. <see cref="JobLifecycle"/> uses it where <see cref="TakesStatusEvents"/>.
/// </summary>
internal interface IStatusEventLifecycleStore
{
    /// <summary>Whether the steps below may be used; a decorator answers for what it wraps.</summary>
    bool TakesStatusEvents { get; }

    /// <summary><see cref="IJobLifecycleStore.SubmitAsync"/> with the job's Queued event given by its type.</summary>
    ValueTask<JobCreateResult> SubmitAsync(JobSubmission submission, JobEventType statusEvent);

    /// <summary><see cref="IJobLifecycleStore.CommitAsync"/> of a step that writes its job, with its event given by its type.</summary>
    ValueTask<bool> CommitAsync(JobCommit commit, JobEventType statusEvent);
}
