namespace MediaGen;

/// <summary>
/// Where webhook deliveries wait until a receiver has them: a small queue kept in the backend, so deliveries survive a
/// restart and any process sharing the backend sends them. MediaGen writes a delivery for each job event a webhook asks
/// for; a dispatcher in every process leases the due ones, sends them, and completes them or schedules the next try.
/// </summary>
/// <remarks>
/// <para>
/// A delivery's <see cref="WebhookDelivery.Id"/> is its Standard Webhooks <c>webhook-id</c>, stable per job event, so
/// adding it again changes nothing and a receiver can drop a repeat. Sending is at least once: a dispatcher that stops
/// between sending and completing leaves its lease to expire, and the delivery is sent again.
/// </para>
/// <para>
/// A lease hides the delivery from every other caller (process) until <see cref="WebhookDeliveryLease.LockedUntil"/>;
/// once that passes the delivery is due again and the old lease can no longer settle it. Every time is an instant of the
/// callers' clocks (<see cref="TimeProvider"/>), never the server's.
/// </para>
/// <para>
/// Growth is bounded: a completed delivery is removed, and one given up is kept only for the retention its caller names
/// (for inspection through <see cref="GetAsync"/>), then removed.
/// </para>
/// </remarks>
public interface IWebhookOutbox
{
    /// <summary>
    /// Adds <paramref name="delivery"/>, due at <see cref="WebhookDelivery.DueAt"/> (or at once). When a delivery with the
    /// same id is in the outbox (waiting, leased or given up), nothing changes.
    /// </summary>
    /// <param name="delivery">The delivery.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns><see langword="true"/> when added; <see langword="false"/> when its id was there already.</returns>
    /// <exception cref="QueueUnavailableException">The backend cannot be reached; nothing was added.</exception>
    ValueTask<bool> AddAsync(WebhookDelivery delivery, CancellationToken cancellationToken = default);

    /// <summary>
    /// Leases up to <paramref name="maxCount"/> deliveries that are due (earliest first) for
    /// <paramref name="leaseDuration"/>, counting an attempt for each. No other caller leases them until the lease expires.
    /// </summary>
    /// <param name="maxCount">The most deliveries to lease, at least 1.</param>
    /// <param name="leaseDuration">How long the leases last.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The leases, possibly none.</returns>
    /// <exception cref="QueueUnavailableException">The backend cannot be reached.</exception>
    ValueTask<IReadOnlyList<WebhookDeliveryLease>> LeaseAsync(int maxCount, TimeSpan leaseDuration, CancellationToken cancellationToken = default);

    /// <summary>Removes a delivery its receiver accepted, if <paramref name="lease"/> still holds it.</summary>
    /// <param name="lease">The lease.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns><see langword="false"/> when the lease expired (the delivery may be with another caller).</returns>
    /// <exception cref="QueueUnavailableException">The backend cannot be reached.</exception>
    ValueTask<bool> CompleteAsync(WebhookDeliveryLease lease, CancellationToken cancellationToken = default);

    /// <summary>Releases the delivery to be tried again at <paramref name="dueAt"/>, recording why this try failed.</summary>
    /// <param name="lease">The lease.</param>
    /// <param name="dueAt">When the delivery is due again.</param>
    /// <param name="error">Why the try failed, for inspection.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns><see langword="false"/> when the lease expired (nothing was changed).</returns>
    /// <exception cref="QueueUnavailableException">The backend cannot be reached.</exception>
    ValueTask<bool> RetryAsync(WebhookDeliveryLease lease, DateTimeOffset dueAt, string error, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stops trying the delivery: it is never leased again, kept for <paramref name="retention"/> for inspection with its
    /// <paramref name="error"/>, then removed.
    /// </summary>
    /// <param name="lease">The lease.</param>
    /// <param name="error">Why the delivery was given up.</param>
    /// <param name="retention">How long to keep it; zero removes it at once.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns><see langword="false"/> when the lease expired (nothing was changed).</returns>
    /// <exception cref="QueueUnavailableException">The backend cannot be reached.</exception>
    ValueTask<bool> GiveUpAsync(WebhookDeliveryLease lease, string error, TimeSpan retention, CancellationToken cancellationToken = default);

    /// <summary>Reads a delivery that is still in the outbox (waiting, leased, or given up and not yet expired).</summary>
    /// <param name="deliveryId">The delivery's id.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>Its state, or null when it is not there (completed, expired or never added).</returns>
    /// <exception cref="QueueUnavailableException">The backend cannot be reached.</exception>
    ValueTask<WebhookDeliveryRecord?> GetAsync(string deliveryId, CancellationToken cancellationToken = default);
}

/// <summary>One webhook delivery to make: its id, its job, and what to send, which the outbox keeps as it is.</summary>
public sealed record WebhookDelivery
{
    /// <summary>The Standard Webhooks <c>webhook-id</c>: the same on every try, distinct per job event.</summary>
    public required string Id { get; init; }

    /// <summary>The job the event is about.</summary>
    public required string JobId { get; init; }

    /// <summary>What MediaGen sends (target, event and the job as it was), in its own format; the outbox never reads it.</summary>
    public required string Payload { get; init; }

    /// <summary>When the first try is due; null for at once.</summary>
    public DateTimeOffset? DueAt { get; init; }
}

/// <summary>A delivery leased for one try, until <see cref="LockedUntil"/>.</summary>
public sealed record WebhookDeliveryLease
{
    /// <summary>The delivery.</summary>
    public required WebhookDelivery Delivery { get; init; }

    /// <summary>Which try this is: 1 for the first lease of the delivery, counting leases that expired unsettled.</summary>
    public required int Attempt { get; init; }

    /// <summary>Why the previous try failed; null on the first.</summary>
    public string? LastError { get; init; }

    /// <summary>When the lease expires and the delivery is due again.</summary>
    public required DateTimeOffset LockedUntil { get; init; }

    /// <summary>The backend's token for this lease, distinct for every lease of the delivery.</summary>
    public required string Token { get; init; }
}

/// <summary>Where a delivery in the outbox stands.</summary>
public enum WebhookDeliveryStatus
{
    /// <summary>Waiting until <see cref="WebhookDeliveryRecord.DueAt"/>.</summary>
    Waiting = 0,

    /// <summary>Leased to a dispatcher until <see cref="WebhookDeliveryRecord.DueAt"/>.</summary>
    Leased = 1,

    /// <summary>Given up; kept for inspection until <see cref="WebhookDeliveryRecord.DueAt"/>.</summary>
    GivenUp = 2,
}

/// <summary>A delivery as the outbox holds it, for inspection.</summary>
public sealed record WebhookDeliveryRecord
{
    /// <summary>The delivery.</summary>
    public required WebhookDelivery Delivery { get; init; }

    /// <summary>Where it stands.</summary>
    public required WebhookDeliveryStatus Status { get; init; }

    /// <summary>How many times it was leased.</summary>
    public required int Attempts { get; init; }

    /// <summary>Why the last try failed, or why it was given up; null before any failure.</summary>
    public string? LastError { get; init; }

    /// <summary>When it is due (waiting), when its lease expires (leased), or when it is removed (given up).</summary>
    public required DateTimeOffset DueAt { get; init; }
}
