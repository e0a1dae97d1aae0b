namespace MediaGen.Queue.Redis.Tests;

public sealed class RedisCreditLedgerTests : RedisClientTests
{

    [ServerFact(RedisTestServer.Variable)]
    public async Task ReserveAsync_ConcurrentFromTwoClients_NeverOverdraws()
    {
        var ledger = await CreateLedgerAsync(100);
        var peer = await CreateLedgerAsync(100);

        var attempts = Enumerable.Range(0, 300).Select(async i =>
        {
            try
            {
                await (i % 2 == 0 ? ledger : peer).ReserveAsync("owner", $"job-{i}", 1);
                return true;
            }
            catch (InsufficientCreditsException)
            {
                return false;
            }
        });
        var results = await Task.WhenAll(attempts);

        Assert.Equal(100, results.Count(r => r));
        Assert.Equal(0, await ledger.GetBalanceAsync("owner"));
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task RefundAsync_CalledTwiceConcurrently_RefundsOnce()
    {
        var ledger = await CreateLedgerAsync(50);
        var peer = await CreateLedgerAsync(50);
        var reservation = await ledger.ReserveAsync("owner", "job", 20);
        var again = await peer.ReserveAsync("owner", "job", 20);

        var refunds = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => (i % 2 == 0 ? ledger : peer).RefundAsync("owner", "job").AsTask()));

        Assert.Equal((true, 30L), (reservation.Created, reservation.BalanceAfter));
        Assert.Equal((false, 20L, 30L), (again.Created, again.Amount, again.BalanceAfter));
        Assert.Equal(20, refunds.Sum());
        Assert.Equal(0, await ledger.RefundAsync("other-owner", "job"));
        Assert.Equal(50, await ledger.GetBalanceAsync("owner"));
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task GrantAsync_LargeAmounts_StayExact()
    {
        var ledger = await CreateLedgerAsync(0);

        await ledger.GrantAsync("owner", 9_007_199_254_740_000);
        var after = await ledger.GrantAsync("owner", 993);

        Assert.Equal(9_007_199_254_740_993, after);
        var error = await Assert.ThrowsAsync<InsufficientCreditsException>(() => ledger.ReserveAsync("poor", "job", 1).AsTask());
        Assert.Equal(0, error.Available);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ReserveAndSettle_AmountsAbove2Pow53_StayExact()
    {
        var ledger = await CreateLedgerAsync(0);
        const long balance = (1L << 53) + 3; // a double rounds it to 2^53 + 4

        await ledger.GrantAsync("whale", balance);

        // One credit more than the balance is refused, however close to it a double would round both.
        var refused = await Assert.ThrowsAsync<InsufficientCreditsException>(() => ledger.ReserveAsync("whale", "job-1", balance + 1).AsTask());
        Assert.Equal((balance + 1, balance), (refused.Requested, refused.Available));
        Assert.Equal(balance, await ledger.GetBalanceAsync("whale"));

        // The whole balance is reserved, and a partial refund one below the reservation comes back to the credit.
        var reserved = await ledger.ReserveAsync("whale", "job-2", balance);
        Assert.Equal((balance, 0L), (reserved.Amount, reserved.BalanceAfter));
        Assert.Equal(balance - 1, await ledger.SettleAsync("whale", "job-2", balance - 1));
        Assert.Equal(balance - 1, await ledger.GetBalanceAsync("whale"));

        // A refund larger than the reservation gives back the reservation, exactly.
        await ledger.ReserveAsync("whale", "job-3", balance - 1);
        Assert.Equal(balance - 1, await ledger.SettleAsync("whale", "job-3", long.MaxValue));
        Assert.Equal(balance - 1, await ledger.GetBalanceAsync("whale"));
    }

    private async Task<RedisCreditLedger> CreateLedgerAsync(long initialBalance)
    {
        var connection = await ConnectAsync();
        return new RedisCreditLedger(connection, RedisTestServer.Options(Prefix), () => initialBalance);
    }
}
