namespace MediaGen;

/// <summary>
/// A queue lease that read its job together with the message, in the receive's own round trip, where the queue and the
/// job store share one backend. The worker starts from <see cref="Job"/> instead of reading the job again.
/// </summary>
public interface IJobCarryingLease : IQueueLease
{
    /// <summary>
    /// The job as stored at the moment the message was leased, or null when the receive did not read it (the worker then
    /// reads the job store). It is only a starting point: every lifecycle step still checks the stored version, and a
    /// worker reads the store again before it drops a message of another run than the finished job it carries (a backend
    /// may read the job in an older snapshot than the message).
    /// </summary>
    GenerationJob? Job { get; }
}
