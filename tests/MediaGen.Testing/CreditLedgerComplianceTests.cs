namespace MediaGen.Testing;

/// <summary>
/// The <see cref="ICreditLedger"/> contract, written once. Every ledger's test project derives a class from this one
/// and says how to create a fresh, isolated ledger; the suite does the rest.
/// </summary>
public abstract class CreditLedgerComplianceTests : ComplianceTestBase
{
    /// <summary>Creates a fresh, empty, isolated ledger in which an owner never seen has <paramref name="initialBalance"/>.</summary>
    /// <param name="initialBalance">The balance of an unseen owner.</param>
    /// <returns>The ledger.</returns>
    protected abstract ValueTask<ICreditLedger> CreateLedgerAsync(long initialBalance);

    [ComplianceFact]
    public Task GetBalanceAsync_UnseenOwnerZeroInitial_ReturnsZero() => GetBalanceAsync_UnseenOwner_ReturnsTheInitialBalanceCore(0);

    [ComplianceFact]
    public Task GetBalanceAsync_UnseenOwner_ReturnsTheInitialBalance() => GetBalanceAsync_UnseenOwner_ReturnsTheInitialBalanceCore(100);

    [ComplianceFact]
    public Task GetBalanceAsync_UnseenOwnerLargeInitial_ReturnsIt() => GetBalanceAsync_UnseenOwner_ReturnsTheInitialBalanceCore(1_000_000_000_000);

    private async Task GetBalanceAsync_UnseenOwner_ReturnsTheInitialBalanceCore(long initialBalance)
    {
        var ledger = await NewLedgerAsync(initialBalance);

        Assert.Equal(initialBalance, await ledger.GetBalanceAsync("owner-a"));
        Assert.Equal(initialBalance, await ledger.GetBalanceAsync("owner-b"));
    }

    [ComplianceFact]
    public async Task ReserveAsync_Affordable_DeductsTheAmount()
    {
        var ledger = await NewLedgerAsync(100);

        var reservation = await ledger.ReserveAsync("owner-a", "job-1", 30);

        Assert.Equal(new CreditReservation("job-1", 30, 70, Created: true), reservation);
        Assert.Equal(70, await ledger.GetBalanceAsync("owner-a"));
        Assert.Equal(100, await ledger.GetBalanceAsync("owner-b"));
    }

    [ComplianceFact]
    public async Task ReserveAsync_WholeBalance_LeavesZero()
    {
        var ledger = await NewLedgerAsync(25);

        var reservation = await ledger.ReserveAsync("owner-a", "job-1", 25);

        Assert.Equal(0, reservation.BalanceAfter);
        Assert.Equal(0, await ledger.GetBalanceAsync("owner-a"));
    }

    [ComplianceFact]
    public async Task ReserveAsync_SameJobAgain_DeductsNothingAndReturnsTheFirstReservation()
    {
        var ledger = await NewLedgerAsync(100);
        await ledger.ReserveAsync("owner-a", "job-1", 30);

        var again = await ledger.ReserveAsync("owner-a", "job-1", 30);
        var differentAmount = await ledger.ReserveAsync("owner-a", "job-1", 50);

        Assert.Equal(new CreditReservation("job-1", 30, 70, Created: false), again);
        Assert.Equal(new CreditReservation("job-1", 30, 70, Created: false), differentAmount);
        Assert.Equal(70, await ledger.GetBalanceAsync("owner-a"));
    }

    [ComplianceFact]
    public async Task ReserveAsync_SameJobAgainWhenBalanceIsNowTooLow_ReturnsTheExistingReservation()
    {
        var ledger = await NewLedgerAsync(40);
        await ledger.ReserveAsync("owner-a", "job-1", 30);

        var again = await ledger.ReserveAsync("owner-a", "job-1", 30);

        Assert.False(again.Created);
        Assert.Equal(30, again.Amount);
        Assert.Equal(10, again.BalanceAfter);
    }

    [ComplianceFact]
    public async Task ReserveAsync_AfterRefund_DoesNotChargeTheJobAgain()
    {
        var ledger = await NewLedgerAsync(100);
        await ledger.ReserveAsync("owner-a", "job-1", 30);
        await ledger.RefundAsync("owner-a", "job-1");

        var again = await ledger.ReserveAsync("owner-a", "job-1", 30);

        Assert.False(again.Created);
        Assert.Equal(100, await ledger.GetBalanceAsync("owner-a"));
        Assert.Equal(0, await ledger.RefundAsync("owner-a", "job-1"));
        Assert.Equal(100, await ledger.GetBalanceAsync("owner-a"));
    }

    [ComplianceFact]
    public async Task ReserveAsync_Insufficient_ThrowsAndDeductsNothing()
    {
        var ledger = await NewLedgerAsync(20);
        await ledger.ReserveAsync("owner-a", "job-1", 15);

        var e = await Assert.ThrowsAsync<InsufficientCreditsException>(() => ledger.ReserveAsync("owner-a", "job-2", 6).AsTask());

        Assert.Equal("owner-a", e.OwnerId);
        Assert.Equal(6, e.Requested);
        Assert.Equal(5, e.Available);
        Assert.Equal(MediaGenErrorCodes.InsufficientCredits, e.ErrorCode);
        Assert.Equal(5, await ledger.GetBalanceAsync("owner-a"));
        Assert.Equal(0, await ledger.RefundAsync("owner-a", "job-2"));
        Assert.Equal(5, await ledger.GetBalanceAsync("owner-a"));
    }

    [ComplianceFact]
    public async Task ReserveAsync_RefusedJobLaterAffordable_CanStillBeReserved()
    {
        var ledger = await NewLedgerAsync(5);
        await Assert.ThrowsAsync<InsufficientCreditsException>(() => ledger.ReserveAsync("owner-a", "job-1", 10).AsTask());
        await ledger.GrantAsync("owner-a", 5);

        var reservation = await ledger.ReserveAsync("owner-a", "job-1", 10);

        Assert.True(reservation.Created);
        Assert.Equal(0, reservation.BalanceAfter);
    }

    [ComplianceFact]
    public async Task ReserveAsync_ZeroAmount_IsAllowedEvenWithZeroBalance()
    {
        var ledger = await NewLedgerAsync(0);

        var reservation = await ledger.ReserveAsync("owner-a", "free-job", 0);

        Assert.Equal(new CreditReservation("free-job", 0, 0, Created: true), reservation);
        Assert.Equal(0, await ledger.RefundAsync("owner-a", "free-job"));
        Assert.Equal(0, await ledger.GetBalanceAsync("owner-a"));
    }

    [ComplianceFact]
    public async Task ReserveAsync_NegativeAmount_ThrowsArgumentOutOfRange()
    {
        var ledger = await NewLedgerAsync(10);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ledger.ReserveAsync("owner-a", "job-1", -1).AsTask());

        Assert.Equal(10, await ledger.GetBalanceAsync("owner-a"));
    }

    [ComplianceFact]
    public async Task ReserveAsync_MissingOwnerOrJob_ThrowsArgumentException()
    {
        var ledger = await NewLedgerAsync(10);

        await Assert.ThrowsAnyAsync<ArgumentException>(() => ledger.ReserveAsync(string.Empty, "job-1", 1).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => ledger.ReserveAsync("owner-a", string.Empty, 1).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => ledger.ReserveAsync(null!, "job-1", 1).AsTask());
    }

    [ComplianceFact]
    public async Task ReserveAsync_SameJobIdForTwoOwners_ChargesEachOwnerSeparately()
    {
        var ledger = await NewLedgerAsync(50);

        var a = await ledger.ReserveAsync("owner-a", "job-1", 10);
        var b = await ledger.ReserveAsync("owner-b", "job-1", 20);

        Assert.True(a.Created);
        Assert.True(b.Created);
        Assert.Equal(40, await ledger.GetBalanceAsync("owner-a"));
        Assert.Equal(30, await ledger.GetBalanceAsync("owner-b"));
    }

    [ComplianceFact]
    public async Task RefundAsync_ReservedJob_RefundsOnce()
    {
        var ledger = await NewLedgerAsync(100);
        await ledger.ReserveAsync("owner-a", "job-1", 30);
        await ledger.ReserveAsync("owner-a", "job-2", 20);

        var first = await ledger.RefundAsync("owner-a", "job-1");
        var second = await ledger.RefundAsync("owner-a", "job-1");

        Assert.Equal(30, first);
        Assert.Equal(0, second);
        Assert.Equal(80, await ledger.GetBalanceAsync("owner-a"));
    }

    [ComplianceFact]
    public async Task RefundAsync_UnknownJob_RefundsNothing()
    {
        var ledger = await NewLedgerAsync(100);
        await ledger.ReserveAsync("owner-a", "job-1", 30);

        Assert.Equal(0, await ledger.RefundAsync("owner-a", "job-2"));
        Assert.Equal(0, await ledger.RefundAsync("owner-z", "job-9"));

        Assert.Equal(70, await ledger.GetBalanceAsync("owner-a"));
        Assert.Equal(100, await ledger.GetBalanceAsync("owner-z"));
    }

    [ComplianceFact]
    public async Task RefundAsync_AnotherOwnersJob_RefundsNothing()
    {
        var ledger = await NewLedgerAsync(100);
        await ledger.ReserveAsync("owner-a", "job-1", 30);

        Assert.Equal(0, await ledger.RefundAsync("owner-b", "job-1"));

        Assert.Equal(100, await ledger.GetBalanceAsync("owner-b"));
        Assert.Equal(70, await ledger.GetBalanceAsync("owner-a"));
        Assert.Equal(30, await ledger.RefundAsync("owner-a", "job-1"));
    }

    [ComplianceFact]
    public async Task GrantAsync_PositiveAmount_AddsToTheBalance()
    {
        var ledger = await NewLedgerAsync(10);

        var afterFirst = await ledger.GrantAsync("owner-a", 5);
        await ledger.ReserveAsync("owner-a", "job-1", 12);
        var afterSecond = await ledger.GrantAsync("owner-a", 100);

        Assert.Equal(15, afterFirst);
        Assert.Equal(103, afterSecond);
        Assert.Equal(103, await ledger.GetBalanceAsync("owner-a"));
        Assert.Equal(10, await ledger.GetBalanceAsync("owner-b"));
    }

    [ComplianceFact]
    public Task GrantAsync_Zero_ThrowsArgumentOutOfRange() => GrantAsync_NotPositive_ThrowsArgumentOutOfRangeCore(0);

    [ComplianceFact]
    public Task GrantAsync_Negative_ThrowsArgumentOutOfRange() => GrantAsync_NotPositive_ThrowsArgumentOutOfRangeCore(-5);

    private async Task GrantAsync_NotPositive_ThrowsArgumentOutOfRangeCore(long amount)
    {
        var ledger = await NewLedgerAsync(10);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ledger.GrantAsync("owner-a", amount).AsTask());

        Assert.Equal(10, await ledger.GetBalanceAsync("owner-a"));
    }

    [ComplianceFact]
    public async Task ReserveAsync_ParallelReservations_NeverOverdraw()
    {
        var ledger = await NewLedgerAsync(100);

        var outcomes = await WithinAsync(
            Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(async () =>
            {
                try
                {
                    var reservation = await ledger.ReserveAsync("owner-a", $"job-{i}", 7);
                    Assert.True(reservation.BalanceAfter >= 0, $"A reservation left the balance at {reservation.BalanceAfter}.");
                    return reservation.Created;
                }
                catch (InsufficientCreditsException e)
                {
                    Assert.True(e.Available < 7, $"A reservation of 7 was refused with {e.Available} available.");
                    return false;
                }
            }))),
            "A hundred parallel reservations");

        Assert.Equal(14, outcomes.Count(created => created));
        Assert.Equal(2, await ledger.GetBalanceAsync("owner-a"));
    }

    [ComplianceFact]
    public async Task ReserveAsync_ParallelReservationsOfOneJob_ChargeOnce()
    {
        var ledger = await NewLedgerAsync(100);

        var reservations = await WithinAsync(
            Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () => await ledger.ReserveAsync("owner-a", "job-1", 9)))),
            "Thirty-two parallel reservations of one job");

        Assert.Single(reservations, r => r.Created);
        Assert.All(reservations, r => Assert.Equal(9, r.Amount));
        Assert.Equal(91, await ledger.GetBalanceAsync("owner-a"));
    }

    [ComplianceFact]
    public async Task RefundAsync_ParallelRefundsOfOneJob_RefundExactlyOnce()
    {
        var ledger = await NewLedgerAsync(100);
        await ledger.ReserveAsync("owner-a", "job-1", 40);

        var refunds = await WithinAsync(
            Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () => await ledger.RefundAsync("owner-a", "job-1")))),
            "Thirty-two parallel refunds of one job");

        Assert.Equal(40, refunds.Sum());
        Assert.Single(refunds, r => r != 0);
        Assert.Equal(100, await ledger.GetBalanceAsync("owner-a"));
    }

    [ComplianceFact]
    public async Task ReserveAndRefundAsync_InterleavedInParallel_KeepTheBalanceConsistent()
    {
        var ledger = await NewLedgerAsync(50);

        var kept = await WithinAsync(
            Task.WhenAll(Enumerable.Range(0, 60).Select(i => Task.Run(async () =>
            {
                try
                {
                    await ledger.ReserveAsync("owner-a", $"job-{i}", 5);
                }
                catch (InsufficientCreditsException)
                {
                    return 0L;
                }

                // Every other job fails and is refunded; the rest keep their charge.
                if (i % 2 == 0)
                {
                    Assert.Equal(5, await ledger.RefundAsync("owner-a", $"job-{i}"));
                    return 0L;
                }

                return 5L;
            }))),
            "Sixty interleaved reservations and refunds");

        var balance = await ledger.GetBalanceAsync("owner-a");
        Assert.InRange(balance, 0, 50);
        Assert.Equal(50 - kept.Sum(), balance);
    }

    [ComplianceFact]
    public async Task SettleAsync_PartialRefund_GivesBackThatShareOnce()
    {
        var ledger = await NewLedgerAsync(100);
        await ledger.ReserveAsync("owner-a", "job-1", 40);

        Assert.Equal(15, await ledger.SettleAsync("owner-a", "job-1", 15));
        Assert.Equal(0, await ledger.SettleAsync("owner-a", "job-1", 15));
        Assert.Equal(0, await ledger.RefundAsync("owner-a", "job-1"));

        Assert.Equal(75, await ledger.GetBalanceAsync("owner-a"));
    }

    [ComplianceFact]
    public async Task SettleAsync_MoreThanReserved_RefundsOnlyTheReservation()
    {
        var ledger = await NewLedgerAsync(100);
        await ledger.ReserveAsync("owner-a", "job-1", 40);

        Assert.Equal(40, await ledger.SettleAsync("owner-a", "job-1", 1_000));
        Assert.Equal(100, await ledger.GetBalanceAsync("owner-a"));
    }

    [ComplianceFact]
    public async Task SettleAsync_KeepAll_ClosesTheReservationSoNothingIsRefundedOrChargedLater()
    {
        var ledger = await NewLedgerAsync(100);
        await ledger.ReserveAsync("owner-a", "job-1", 40);

        Assert.Equal(0, await ledger.SettleAsync("owner-a", "job-1", 0));
        Assert.Equal(0, await ledger.RefundAsync("owner-a", "job-1"));
        var again = await ledger.ReserveAsync("owner-a", "job-1", 40);

        Assert.False(again.Created);
        Assert.Equal(60, await ledger.GetBalanceAsync("owner-a"));
        Assert.Empty(await ledger.ListOpenReservationsAsync(Time.GetUtcNow().AddDays(1), 10));
    }

    [ComplianceFact]
    public async Task SettleAsync_NegativeRefund_ThrowsArgumentOutOfRange()
    {
        var ledger = await NewLedgerAsync(100);
        await ledger.ReserveAsync("owner-a", "job-1", 40);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => ledger.SettleAsync("owner-a", "job-1", -1).AsTask());
        Assert.Equal(60, await ledger.GetBalanceAsync("owner-a"));
    }

    [ComplianceFact]
    public async Task SettleAsync_ParallelSettlementsOfOneJob_SettleExactlyOnce()
    {
        var ledger = await NewLedgerAsync(100);
        await ledger.ReserveAsync("owner-a", "job-1", 40);

        var refunds = await WithinAsync(
            Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(async () => await ledger.SettleAsync("owner-a", "job-1", 10 + i)))),
            "Sixteen parallel settlements of one job");

        Assert.Single(refunds, r => r != 0);
        Assert.Equal(60 + refunds.Sum(), await ledger.GetBalanceAsync("owner-a"));
    }

    [ComplianceFact]
    public async Task ListOpenReservationsAsync_OpenOnes_OldestFirstUpToTheCount()
    {
        var ledger = await NewLedgerAsync(100);
        var first = Time.GetUtcNow();
        await ledger.ReserveAsync("owner:a", "job-1", 10);
        Time.Advance(TimeSpan.FromSeconds(1));
        await ledger.ReserveAsync("owner-b", "job:2", 20);
        Time.Advance(TimeSpan.FromSeconds(1));
        await ledger.ReserveAsync("owner-a", "job-3", 30);
        await ledger.SettleAsync("owner-a", "job-3", 0);
        Time.Advance(TimeSpan.FromSeconds(1));
        await ledger.ReserveAsync("owner-c", "job-4", 5);

        var open = await ledger.ListOpenReservationsAsync(Time.GetUtcNow(), 10);
        var firstTwo = await ledger.ListOpenReservationsAsync(Time.GetUtcNow().AddDays(1), 2);

        Assert.Equal([("owner:a", "job-1", 10L), ("owner-b", "job:2", 20L)], open.Select(r => (r.OwnerId, r.JobId, r.Amount)));
        Assert.True((open[0].ReservedAt - first).Duration() <= TimeSpan.FromMilliseconds(1));
        Assert.Equal(["job-1", "job:2"], firstTwo.Select(r => r.JobId));
    }

    /// <summary>Creates a tracked ledger.</summary>
    /// <param name="initialBalance">The balance of an unseen owner.</param>
    /// <returns>The ledger.</returns>
    protected async Task<ICreditLedger> NewLedgerAsync(long initialBalance) => Track(await CreateLedgerAsync(initialBalance));
}
