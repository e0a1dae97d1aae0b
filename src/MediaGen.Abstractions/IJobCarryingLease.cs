namespace MediaGen;

/// <summary>
/// A queue lease that read its job together with the message, in the receive's own round trip, where the queue and the
/// job store share one backend. The worker starts from <see cref="Job"/> instead of reading the job again.
/// </summary>
public interface IJobCarryingLease : IQueueLease
{
    /// <summary>
    /// The job as stored at the moment the message was leased, or null when the receive did not read it (the worker then
    /// reads the job store). It is only a starting point: every lifecycle step still checks the stored version.
    /// </summary>
    GenerationJob? Job { get; }
}
