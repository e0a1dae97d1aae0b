namespace MediaGen;

/// <summary>
/// Carries an owner's cancel of a running job to the process that runs it, so the cancel is applied within moments
/// instead of at that worker's next lease renewal. A backend that shares state between processes (Redis) carries it
/// between processes; the in-memory default carries it within the process only.
/// </summary>
/// <remarks>
/// <para>
/// The signal is a prompt, not the record: the cancel is recorded on the job first (<see cref="GenerationJob.CancelRequested"/>),
/// then signalled. Delivery is live and best effort: a signal published while a process is not subscribed, or while
/// the connection is down, is not kept, and that process applies the cancel when its lease renewal reads the job.
/// A signal never needs to be delivered twice and never cancels anything by itself: the worker only stops an attempt
/// of a job whose cancel is recorded.
/// </para>
/// <para>
/// Backends whose transport cannot reach other processes (for example a Service Bus queue beside a store with no
/// signal) keep the in-memory default; cancels from other processes then land at the next lease renewal.
/// </para>
/// </remarks>
public interface IJobCancelSignal
{
    /// <summary>
    /// Tells every subscriber, in every process sharing the backend and in this one, that a cancel of the run
    /// <paramref name="jobId"/> names was recorded.
    /// </summary>
    /// <param name="jobId">The run id (<see cref="GenerationJob.RunId"/>) of the job whose cancel was recorded: the job id for its first run.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>A task that completes once the signal is handed to the transport.</returns>
    /// <exception cref="QueueUnavailableException">The backend cannot be reached; the cancel lands at the next lease renewal.</exception>
    ValueTask PublishAsync(string jobId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts receiving signals. Every signal published after the returned task completes, from any process, reaches
    /// <paramref name="onCancel"/> until the returned subscription is disposed.
    /// </summary>
    /// <param name="onCancel">
    /// Receives the run id of each signal, as published. Called on the transport's thread, possibly concurrently: it must return quickly
    /// and must not throw.
    /// </param>
    /// <param name="cancellationToken">Cancels the subscribing, not the subscription.</param>
    /// <returns>The subscription; disposing it stops the deliveries.</returns>
    /// <exception cref="QueueUnavailableException">The backend cannot be reached.</exception>
    ValueTask<IAsyncDisposable> SubscribeAsync(Action<string> onCancel, CancellationToken cancellationToken = default);
}
