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

    private async Task<RedisCreditLedger> CreateLedgerAsync(long initialBalance)
    {
        var connection = await ConnectAsync();
        return new RedisCreditLedger(connection, RedisTestServer.Options(Prefix), () => initialBalance);
    }
}
