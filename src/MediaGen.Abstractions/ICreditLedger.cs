namespace MediaGen;

/// <summary>
/// Owners' credit balances. A job's credits are reserved (deducted) before its work and either kept or refunded;
/// both steps are keyed by job id and happen at most once per job. A balance never goes below zero, under any
/// concurrency.
/// </summary>
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

    /// <summary>Gives back what was reserved for <paramref name="jobId"/>, once: later calls, and calls for a job never reserved, refund nothing.</summary>
    /// <param name="ownerId">The owner.</param>
    /// <param name="jobId">The job.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The credits refunded by this call (zero when nothing was refunded).</returns>
    ValueTask<long> RefundAsync(string ownerId, string jobId, CancellationToken cancellationToken = default);

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
