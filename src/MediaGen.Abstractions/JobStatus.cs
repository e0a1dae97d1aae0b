namespace MediaGen;

/// <summary>The life-cycle state of a <see cref="GenerationJob"/>.</summary>
/// <remarks>Legal transitions are defined once, in <see cref="JobStatusTransitions"/>.</remarks>
public enum JobStatus
{
    /// <summary>Accepted and waiting for a worker, either for its first attempt or for a scheduled retry.</summary>
    Pending = 0,

    /// <summary>A worker holds the job's lease and is running an attempt.</summary>
    Processing = 1,

    /// <summary>Finished; every output is stored. Terminal.</summary>
    Succeeded = 2,

    /// <summary>Finished with an error that will not be retried. Terminal.</summary>
    Failed = 3,

    /// <summary>Canceled by its owner. Terminal.</summary>
    Canceled = 4,
}

/// <summary>The one place that says which <see cref="JobStatus"/> changes are legal.</summary>
public static class JobStatusTransitions
{
    /// <summary>Returns <see langword="true"/> when <paramref name="status"/> is final.</summary>
    /// <param name="status">The status to test.</param>
    /// <returns><see langword="true"/> for <see cref="JobStatus.Succeeded"/>, <see cref="JobStatus.Failed"/> and <see cref="JobStatus.Canceled"/>.</returns>
    public static bool IsTerminal(this JobStatus status) =>
        status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Canceled;

    /// <summary>Returns <see langword="true"/> when a job may move from <paramref name="from"/> to <paramref name="to"/>.</summary>
    /// <param name="from">The current status.</param>
    /// <param name="to">The requested status.</param>
    /// <returns>Whether the transition is legal.</returns>
    /// <remarks>
    /// Pending may start, fail (enqueue failure, deadline) or be canceled. Processing may finish in any terminal
    /// state, or return to Pending when an attempt is retried later or handed back on shutdown. Succeeded never
    /// changes; Failed and Canceled go back to Pending only for a new run (<see cref="IMediaGenerationClient.RetryAsync"/>).
    /// </remarks>
    public static bool CanTransition(JobStatus from, JobStatus to) => (from, to) switch
    {
        (JobStatus.Pending, JobStatus.Processing) => true,
        (JobStatus.Pending, JobStatus.Failed) => true,
        (JobStatus.Pending, JobStatus.Canceled) => true,
        (JobStatus.Processing, JobStatus.Pending) => true,
        (JobStatus.Processing, JobStatus.Succeeded) => true,
        (JobStatus.Processing, JobStatus.Failed) => true,
        (JobStatus.Processing, JobStatus.Canceled) => true,
        (JobStatus.Failed, JobStatus.Pending) => true,
        (JobStatus.Canceled, JobStatus.Pending) => true,
        _ => false,
    };

    /// <summary>Throws <see cref="InvalidJobTransitionException"/> unless the transition is legal.</summary>
    /// <param name="jobId">The job, for the error message.</param>
    /// <param name="from">The current status.</param>
    /// <param name="to">The requested status.</param>
    /// <exception cref="InvalidJobTransitionException">The transition is not legal.</exception>
    public static void EnsureTransition(string jobId, JobStatus from, JobStatus to)
    {
        if (!CanTransition(from, to))
        {
            throw new InvalidJobTransitionException(jobId, from, to);
        }
    }
}
