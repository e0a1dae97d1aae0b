namespace MediaGen;

/// <summary>
/// Applies one step of a job's life cycle to the job store, the credit ledger, the queue and the event stream
/// together. MediaGen's lifecycle component sends every step through this seam; nothing else writes a job's status.
/// </summary>
/// <remarks>
/// <para>
/// A backend that owns all four seams (Redis, PostgreSQL, the in-memory default) implements it so each step is one
/// atomic operation: one script, one transaction, one critical section. Either every effect of a step happens or none
/// does, so a crash between steps never leaves a job half done.
/// </para>
/// <para>
/// Where the seams come from different systems (a Service Bus queue beside a Redis store), MediaGen composes the four
/// seams instead, in an order that keeps the job store the source of truth: the job is written first, then the
/// ledger settles, then the event is published, and the lease settles last. A crash in between leaves the lease
/// unsettled, so the message comes back and the step is applied again (every effect is keyed by job id); the sweeper
/// settles reservations that nothing else will.
/// </para>
/// </remarks>
public interface IJobLifecycleStore
{
    /// <summary>
    /// Creates the job, reserves its credits, enqueues its message and publishes its event. When the owner already has
    /// a job with the same idempotency key, nothing is written and that job is returned.
    /// </summary>
    /// <param name="submission">The new job and what comes with it.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The stored job, and whether this call created it.</returns>
    /// <exception cref="InsufficientCreditsException">The owner cannot pay; nothing was written.</exception>
    /// <exception cref="OwnerLimitExceededException">
    /// The owner already has <see cref="JobSubmission.MaxPendingJobs"/> pending jobs; nothing was written.
    /// </exception>
    /// <exception cref="QueueUnavailableException">The backend cannot be reached; nothing was written.</exception>
    ValueTask<JobCreateResult> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies a step: writes <see cref="JobCommit.Job"/> if the stored version is still
    /// <see cref="JobCommit.ExpectedVersion"/>, settles the credits, enqueues, settles the lease and publishes the event.
    /// When the version differs nothing at all is applied.
    /// </summary>
    /// <param name="commit">The step.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>
    /// <see langword="true"/> when the step was applied; <see langword="false"/> when the job is missing or was changed
    /// since it was read (nothing was applied; read it again and decide again).
    /// </returns>
    /// <exception cref="InsufficientCreditsException">
    /// The step reserves credits (<see cref="JobCommit.Reserve"/>) and the owner cannot pay; nothing was applied.
    /// </exception>
    /// <remarks>
    /// A lease that can no longer be settled (it expired and the message may be with another receiver) does not undo the
    /// rest of the step: the redelivered message finds the job as this step left it.
    /// </remarks>
    ValueTask<bool> CommitAsync(JobCommit commit, CancellationToken cancellationToken = default);
}

/// <summary>A new job and the effects that come with accepting it.</summary>
public readonly record struct JobSubmission
{
    /// <summary>The job, with <see cref="GenerationJob.Version"/> 1.</summary>
    public required GenerationJob Job { get; init; }

    /// <summary>Credits to reserve for the job; zero reserves nothing but still records the reservation.</summary>
    public long Credits { get; init; }

    /// <summary>The message to enqueue.</summary>
    public required QueueMessage Message { get; init; }

    /// <summary>How to enqueue it; null for no delay and normal priority.</summary>
    public EnqueueOptions? EnqueueOptions { get; init; }

    /// <summary>The event to publish once accepted; null for none.</summary>
    public JobEvent? Event { get; init; }

    /// <summary>
    /// The most jobs the owner may have in <see cref="JobStatus.Pending"/>: when the owner already has this many, the
    /// submission is refused with <see cref="OwnerLimitExceededException"/> and nothing is written. Null for no limit.
    /// A backend that owns the store checks it in the same atomic step; a composed one counts just before.
    /// </summary>
    public int? MaxPendingJobs { get; init; }

    /// <summary>How long a submission refused for <see cref="MaxPendingJobs"/> should wait before trying again.</summary>
    public TimeSpan PendingLimitRetryAfter { get; init; }
}

/// <summary>
/// One step of a job's life cycle, applied by <see cref="IJobLifecycleStore.CommitAsync"/>. A value, so a step on a
/// backend that completes synchronously (the in-memory one) allocates nothing for it.
/// </summary>
public readonly record struct JobCommit
{
    /// <summary>The job's id.</summary>
    public required string JobId { get; init; }

    /// <summary>The job's owner, whose credits <see cref="Settlement"/> settles.</summary>
    public required string OwnerId { get; init; }

    /// <summary>
    /// The job's new state, carrying version <see cref="ExpectedVersion"/> + 1; null to write nothing (the step only
    /// re-applies effects that a crash may have left undone, such as a redelivered finished job's settlement).
    /// </summary>
    public GenerationJob? Job { get; init; }

    /// <summary>The version the step was decided on. Ignored when <see cref="Job"/> is null.</summary>
    public long ExpectedVersion { get; init; }

    /// <summary>
    /// The run whose credit reservation <see cref="Reserve"/> and <see cref="Settlement"/> apply to (the ledger keys it
    /// by <see cref="GenerationJob.FormatRunId"/>); 0 and 1 both mean the first run.
    /// </summary>
    public int Run { get; init; }

    /// <summary>
    /// Credits to reserve for <see cref="Run"/> (a retried job's new run); null to reserve nothing. When the owner
    /// cannot pay, the whole step is refused with <see cref="InsufficientCreditsException"/> and nothing is applied.
    /// A backend that owns the store and the ledger checks the version first, so a step refused for its version never
    /// reserves; a composed one reserves first and leaves a reservation whose run never started to the sweeper.
    /// </summary>
    public long? Reserve { get; init; }

    /// <summary>Settles the run's credit reservation, giving back this many credits (zero keeps them all); null to leave it open.</summary>
    public long? Settlement { get; init; }

    /// <summary>A message to enqueue (a scheduled retry, a job the sweeper found without one); null for none.</summary>
    public QueueMessage? Enqueue { get; init; }

    /// <summary>How to enqueue <see cref="Enqueue"/>.</summary>
    public EnqueueOptions? EnqueueOptions { get; init; }

    /// <summary>The lease to settle and how; null when the step holds no lease (a cancel from the API).</summary>
    public LeaseSettlement? Lease { get; init; }

    /// <summary>The event to publish; null for none.</summary>
    public JobEvent? Event { get; init; }

    /// <summary>
    /// An event of the same job to publish just before <see cref="Event"/>, numbered before it, and only when the step
    /// applies (the last output's <see cref="JobEventType.OutputStored"/> riding with the step that ends the job, which
    /// saves it a publish of its own); null for none. Only with <see cref="Job"/> set and <see cref="Event"/> an event of
    /// the same job: another step cannot carry one (<see cref="ArgumentException"/>).
    /// </summary>
    public JobEvent? PrecedingEvent { get; init; }

    /// <summary>
    /// Throws when the step cannot be applied as it stands: a negative <see cref="Settlement"/> or <see cref="Reserve"/>,
    /// or a <see cref="PrecedingEvent"/> on a step that cannot carry it. Backends call it first, so every backend refuses
    /// the same steps.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A credit amount is negative.</exception>
    /// <exception cref="ArgumentException">The step is not one a preceding event can ride with.</exception>
    public void EnsureValid()
    {
        if (Settlement is { } refund)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(refund, "commit");
        }

        if (Reserve is { } reserve)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(reserve, "commit");
        }

        if (PrecedingEvent is { } preceding
            && (Job is null || Event is null || !string.Equals(preceding.JobId, JobId, StringComparison.Ordinal) || !string.Equals(Event.JobId, JobId, StringComparison.Ordinal)))
        {
            throw new ArgumentException("A preceding event rides only with a step that writes its job and publishes an event of that job.", "commit");
        }
    }

    /// <summary>
    /// A webhook delivery to add to the <see cref="IWebhookOutbox"/> (the terminal one, which users rely on); null for
    /// none. A backend that owns the outbox too adds it in the same atomic step, so a finished job always has its
    /// delivery; a composed one adds it right after the job is written, and a crash between the two loses it.
    /// </summary>
    public WebhookDelivery? Webhook { get; init; }
}

/// <summary>How a step ends the delivery it runs in.</summary>
public enum LeaseAction
{
    /// <summary>Keep holding the lease (an attempt starts, or saves a checkpoint).</summary>
    Keep = 0,

    /// <summary>Remove the message: the job needs no more deliveries.</summary>
    Complete = 1,

    /// <summary>Return the message, visible again after <see cref="LeaseSettlement.Delay"/>.</summary>
    Abandon = 2,

    /// <summary>Move the message to the dead-letter store with <see cref="LeaseSettlement.Reason"/>.</summary>
    DeadLetter = 3,
}

/// <summary>The lease a step settles, and how.</summary>
/// <param name="Lease">The lease, as received from the backend's <see cref="IJobQueue"/>.</param>
/// <param name="Action">What to do with it.</param>
public readonly record struct LeaseSettlement(IQueueLease Lease, LeaseAction Action)
{
    /// <summary>For <see cref="LeaseAction.Abandon"/>: how long the message stays invisible.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>
    /// For <see cref="LeaseAction.Abandon"/>: the delivery is handed back on purpose, not failed, so it does not count
    /// toward the message's <see cref="IQueueLease.DeliveryCount"/> (see <see cref="IQueueLease.DeferAsync"/>).
    /// </summary>
    public bool Deferred { get; init; }

    /// <summary>For <see cref="LeaseAction.DeadLetter"/>: a short, stable reason such as an error code.</summary>
    public string? Reason { get; init; }

    /// <summary>For <see cref="LeaseAction.DeadLetter"/>: a longer description.</summary>
    public string? Description { get; init; }

    /// <summary>
    /// Settles <see cref="Lease"/> as <see cref="Action"/> says, through the lease itself: the way a lifecycle store
    /// settles a lease from another queue than its own. <see cref="LeaseAction.Keep"/> does nothing.
    /// </summary>
    /// <returns>A task that completes once the lease is settled.</returns>
    /// <exception cref="LeaseLostException">The lease is no longer held.</exception>
    public ValueTask ApplyAsync() => Action switch
    {
        LeaseAction.Complete => Lease.CompleteAsync(CancellationToken.None),
        LeaseAction.Abandon => Deferred ? Lease.DeferAsync(Delay, CancellationToken.None) : Lease.AbandonAsync(Delay, CancellationToken.None),
        LeaseAction.DeadLetter => Lease.DeadLetterAsync(Reason ?? MediaGenErrorCodes.InternalError, Description, CancellationToken.None),
        _ => ValueTask.CompletedTask,
    };
}
