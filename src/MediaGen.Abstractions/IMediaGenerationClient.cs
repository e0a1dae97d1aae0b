namespace MediaGen;

/// <summary>
/// The producer side of MediaGen: submit jobs and read, list, cancel or delete them. Every call that names a job is
/// scoped to its owner; another owner's job is reported as not found.
/// </summary>
public interface IMediaGenerationClient
{
    /// <summary>
    /// Validates the request, reserves the model's cost in credits, writes the job and enqueues it. With an
    /// idempotency key already used by the owner, returns that job and charges nothing.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The job, and whether this call created it.</returns>
    /// <exception cref="RequestValidationException">The request is invalid.</exception>
    /// <exception cref="InsufficientCreditsException">The owner cannot pay for the job; nothing was written.</exception>
    /// <exception cref="IdempotencyKeyReusedException">The key names a job with a different request.</exception>
    /// <exception cref="QueueUnavailableException">The job could not be enqueued; it is failed and refunded.</exception>
    ValueTask<SubmitResult> SubmitAsync(GenerationRequest request, CancellationToken cancellationToken = default);

    /// <summary>Gets one of the owner's jobs.</summary>
    /// <param name="ownerId">The owner.</param>
    /// <param name="jobId">The job id.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The job.</returns>
    /// <exception cref="JobNotFoundException">No such job for this owner.</exception>
    ValueTask<GenerationJob> GetAsync(string ownerId, string jobId, CancellationToken cancellationToken = default);

    /// <summary>Lists the owner's jobs, newest first.</summary>
    /// <param name="query">The owner, status filter, cursor and page size.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>A page.</returns>
    /// <exception cref="RequestValidationException">The cursor or limit is invalid.</exception>
    ValueTask<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Cancels a job: a pending job at once, a processing one by signaling its worker (the provider's work is
    /// canceled too). The job's credits are refunded. Canceling a canceled job returns it unchanged.
    /// </summary>
    /// <param name="ownerId">The owner.</param>
    /// <param name="jobId">The job id.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The job after the request: Canceled, or Processing with <see cref="GenerationJob.CancelRequested"/> set.</returns>
    /// <exception cref="JobNotFoundException">No such job for this owner.</exception>
    /// <exception cref="InvalidJobTransitionException">The job already succeeded or failed.</exception>
    ValueTask<GenerationJob> CancelAsync(string ownerId, string jobId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs a Failed or Canceled job again: it goes back to Pending as a new run (<see cref="GenerationJob.Run"/>) with
    /// its attempts reset, charged again at the model's current price (a reservation of its own, refunded on failure
    /// like the first), and enqueued. The provider checkpoint is kept only while the provider's work can still be
    /// resumed: after transient failures (a retryable error, or attempts exhausted by them), within the checkpoint resume window of MediaGen's options.
    /// </summary>
    /// <param name="ownerId">The owner.</param>
    /// <param name="jobId">The job id.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The job, Pending in its new run.</returns>
    /// <exception cref="JobNotFoundException">No such job for this owner.</exception>
    /// <exception cref="InvalidJobTransitionException">
    /// The job is not Failed or Canceled, or its delete has begun (<see cref="GenerationJob.DeleteRequested"/>).
    /// </exception>
    /// <exception cref="InsufficientCreditsException">The owner cannot pay for the new run; nothing was written.</exception>
    /// <exception cref="RequestValidationException">The job's model is no longer served.</exception>
    ValueTask<GenerationJob> RetryAsync(string ownerId, string jobId, CancellationToken cancellationToken = default);

    /// <summary>
    /// An operator's replay of a dead-lettered message (not scoped to an owner): the message's job is retried as
    /// <see cref="RetryAsync"/> does, and the dead letter is removed. A dead letter whose job is no longer Failed or
    /// Canceled (it was retried already), or whose job is being deleted, is removed and the job returned as it is.
    /// </summary>
    /// <param name="messageId">The dead letter's <see cref="QueueMessage.MessageId"/>, from <see cref="IJobQueue.ListDeadLettersAsync"/>.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>
    /// The job after the replay; null when there is no such dead letter, or when its job no longer exists (the dead
    /// letter is removed then).
    /// </returns>
    /// <exception cref="InsufficientCreditsException">The job's owner cannot pay for the new run; the dead letter stays.</exception>
    ValueTask<GenerationJob?> ReplayDeadLetterAsync(string messageId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes a finished job and its stored outputs: the job as this call found it, never a run that started since. The
    /// job is first marked (<see cref="GenerationJob.DeleteRequested"/>), which only succeeds while it is still finished in
    /// the run that was checked, and from then on <see cref="RetryAsync"/> refuses it; then its reservation is settled
    /// (when a crash left it open), its outputs are deleted, and last the job, only while it is still finished at the
    /// marked version (<see cref="IJobStore.DeleteFinishedAsync"/>). A delete interrupted after the mark leaves the job
    /// marked (its outputs possibly gone); deleting it again finishes. Credits are not refunded: what the job cost stays
    /// spent.
    /// </summary>
    /// <param name="ownerId">The owner.</param>
    /// <param name="jobId">The job id.</param>
    /// <param name="cancellationToken">The cancellation token; once the job is marked, the delete runs to its end regardless.</param>
    /// <returns>A task that completes once the job and its outputs are gone.</returns>
    /// <exception cref="JobNotFoundException">No such job for this owner.</exception>
    /// <exception cref="InvalidJobTransitionException">
    /// The job is still pending or processing (cancel it first), or it was retried (a new run, charged) after this call
    /// read it; nothing was deleted then, and the new run keeps its outputs and its charge.
    /// </exception>
    ValueTask DeleteAsync(string ownerId, string jobId, CancellationToken cancellationToken = default);

    /// <summary>The models every registered generator serves.</summary>
    /// <returns>The model catalog.</returns>
    IReadOnlyList<ModelDescriptor> GetModels();
}

/// <summary>The result of <see cref="IMediaGenerationClient.SubmitAsync"/>.</summary>
/// <param name="Job">The job.</param>
/// <param name="Created">False when an idempotency key returned an existing job.</param>
public readonly record struct SubmitResult(GenerationJob Job, bool Created);
