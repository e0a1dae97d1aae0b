namespace MediaGen;

/// <summary>
/// Owners' credit balances. A job's credits are reserved (deducted) before its work and then settled once: kept,
/// refunded in full, or refunded in part. Both steps are keyed by job id and happen at most once per job. A balance
/// never goes below zero, under any concurrency. Reservations not yet settled can be listed, so a sweeper can finish a
/// settlement that a crash interrupted.
/// </summary>
/// <remarks>
/// The ledger treats the job id as an opaque key. MediaGen passes a run id (<see cref="GenerationJob.RunId"/>): the job
/// id for a job's first run and <c>{jobId}.{run}</c> for each retry, so every run is reserved and settled once.
/// </remarks>
public interface ICreditLedger
{
    /// <summary>
    /// Deducts <paramref name="amount"/> from the owner's balance for <paramref name="jobId"/>, atomically checked
    /// against the balance. A second call for the same job deducts nothing and returns the first reservation.
    /// </summary>
    /// <param name="ownerId">The owner.</param>
    /// <param name="jobId">The job the credits pay for.</param>
    /// <param name="amount">Credits to deduct; zero or more.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The reservation and the balance after it.</returns>
    /// <exception cref="InsufficientCreditsException">The balance is lower than <paramref name="amount"/>.</exception>
    ValueTask<CreditReservation> ReserveAsync(string ownerId, string jobId, long amount, CancellationToken cancellationToken = default);

    /// <summary>
    /// Gives back everything reserved for <paramref name="jobId"/> and settles the reservation, once: later calls, and
    /// calls for a job never reserved, refund nothing. The same as <see cref="SettleAsync"/> with the whole amount.
    /// </summary>
    /// <param name="ownerId">The owner.</param>
    /// <param name="jobId">The job.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The credits refunded by this call (zero when nothing was refunded).</returns>
    ValueTask<long> RefundAsync(string ownerId, string jobId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Settles the reservation for <paramref name="jobId"/>, once: gives back <paramref name="refund"/> credits (at most
    /// what was reserved) and keeps the rest. Zero keeps everything (a job that delivered all it was paid for). A
    /// settled reservation is never settled again, and a later <see cref="ReserveAsync"/> for the job charges nothing.
    /// </summary>
    /// <param name="ownerId">The owner.</param>
    /// <param name="jobId">The job.</param>
    /// <param name="refund">Credits to give back; zero or more, capped at the reserved amount.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The credits refunded by this call (zero when the reservation was already settled or never made).</returns>
    ValueTask<long> SettleAsync(string ownerId, string jobId, long refund, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lists reservations made before <paramref name="reservedBefore"/> and not settled yet, oldest first: the work of a
    /// sweeper that settles what a crash between a job's last write and its settlement left open.
    /// </summary>
    /// <param name="reservedBefore">Only reservations made earlier than this.</param>
    /// <param name="maxCount">The most to return.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The open reservations.</returns>
    ValueTask<IReadOnlyList<OpenReservation>> ListOpenReservationsAsync(DateTimeOffset reservedBefore, int maxCount, CancellationToken cancellationToken = default);

    /// <summary>Gets the owner's balance; an owner never seen has the ledger's initial balance.</summary>
    /// <param name="ownerId">The owner.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The balance.</returns>
    ValueTask<long> GetBalanceAsync(string ownerId, CancellationToken cancellationToken = default);

    /// <summary>Adds credits to an owner's balance (a purchase or grant).</summary>
    /// <param name="ownerId">The owner.</param>
    /// <param name="amount">Credits to add; more than zero.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The balance after the grant.</returns>
    ValueTask<long> GrantAsync(string ownerId, long amount, CancellationToken cancellationToken = default);
}

/// <summary>The result of <see cref="ICreditLedger.ReserveAsync"/>.</summary>
/// <param name="JobId">The job.</param>
/// <param name="Amount">Credits reserved for it.</param>
/// <param name="BalanceAfter">The owner's balance after the reservation.</param>
/// <param name="Created">Whether this call made the reservation (false when it already existed).</param>
public readonly record struct CreditReservation(string JobId, long Amount, long BalanceAfter, bool Created);

/// <summary>A reservation that has not been settled yet; see <see cref="ICreditLedger.ListOpenReservationsAsync"/>.</summary>
/// <param name="OwnerId">The owner.</param>
/// <param name="JobId">The job.</param>
/// <param name="Amount">Credits reserved.</param>
/// <param name="ReservedAt">When the reservation was made.</param>
public readonly record struct OpenReservation(string OwnerId, string JobId, long Amount, DateTimeOffset ReservedAt);
