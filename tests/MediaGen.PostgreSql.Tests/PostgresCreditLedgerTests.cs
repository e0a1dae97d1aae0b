namespace MediaGen.PostgreSql.Tests;

public sealed class PostgresCreditLedgerTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(ComplianceTestBase.StartTime);
    private readonly PostgresComplianceDatabases _databases;

    public PostgresCreditLedgerTests()
    {
        _databases = new PostgresComplianceDatabases(_time);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _databases.DisposeAsync().AsTask();

    [ServerFact(PostgresTestServer.Variable)]
    public async Task ReserveAsync_ConcurrentFromTwoClients_NeverOverdrawsAndTheEntriesAddUp()
    {
        var ledger = Ledger(100);
        var peer = Ledger(100);
        await ledger.GrantAsync("owner", 50);

        var results = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => Task.Run(async () =>
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
        })));

        Assert.Equal(150, results.Count(r => r));
        Assert.Equal(0, await peer.GetBalanceAsync("owner"));

        // The audit trail agrees with the balance: the grant, then one entry per reservation, each with the balance after it.
        var entries = await ReadEntriesAsync("owner");
        Assert.Equal(151, entries.Count);
        Assert.Equal(("grant", 50L, 150L), entries[0]);
        Assert.Equal(100 + entries.Sum(e => e.Amount), await ledger.GetBalanceAsync("owner"));
        Assert.Equal(Enumerable.Range(0, 150).Select(i => 149L - i), entries.Skip(1).Select(e => e.BalanceAfter));
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task SettleAsync_ConcurrentFromTwoClients_RefundsOnceAndRecordsTheKind()
    {
        var ledger = Ledger(50);
        var peer = Ledger(50);
        await ledger.ReserveAsync("owner", "full", 20);
        await ledger.ReserveAsync("owner", "partial", 20);

        var full = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(() => (i % 2 == 0 ? ledger : peer).RefundAsync("owner", "full").AsTask())));
        var partial = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(() => (i % 2 == 0 ? ledger : peer).SettleAsync("owner", "partial", 5).AsTask())));

        Assert.Equal(20, full.Sum());
        Assert.Equal(5, partial.Sum());
        Assert.Equal(35, await ledger.GetBalanceAsync("owner"));
        Assert.Equal(
            [("reservation", -20L, 30L), ("reservation", -20L, 10L), ("refund", 20L, 30L), ("partial_refund", 5L, 35L)],
            await ReadEntriesAsync("owner"));
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task SubmitAsync_ConcurrentFromTwoClients_NeverPassesThePendingLimitNorTheBalance()
    {
        var stores = new[] { Lifecycle(1000), Lifecycle(1000) };

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
        {
            var job = new GenerationJob
            {
                Id = Guid.NewGuid().ToString("N"),
                Request = new GenerationRequest { Prompt = "a fox", Model = "procedural", OwnerId = "owner" },
                CreatedAt = _time.GetUtcNow(),
                UpdatedAt = _time.GetUtcNow(),
                CreditsCharged = 10,
            };
            try
            {
                await stores[i % 2].SubmitAsync(new JobSubmission { Job = job, Credits = 10, Message = new QueueMessage(job.Id), MaxPendingJobs = 7 });
                return "created";
            }
            catch (OwnerLimitExceededException)
            {
                return "limited";
            }
        })));

        Assert.Equal(7, outcomes.Count(o => o == "created"));
        Assert.Equal(33, outcomes.Count(o => o == "limited"));
        Assert.Equal(930, await Ledger(1000).GetBalanceAsync("owner"));
    }

    private PostgresDatabase Connect() => _databases.Connect();

    private PostgresCreditLedger Ledger(long initialBalance) => new(Connect(), () => initialBalance);

    private PostgresJobLifecycleStore Lifecycle(long initialBalance)
    {
        var database = Connect();
        return new PostgresJobLifecycleStore(
            database,
            PostgresTestServer.Queue(database, PostgresTestServer.Options(_databases.Schema)),
            new PostgresCreditLedger(database, () => initialBalance),
            new PostgresJobEventStream(database, NullLogger<PostgresJobEventStream>.Instance),
            NullLogger.Instance);
    }

    private async Task<List<(string Kind, long Amount, long BalanceAfter)>> ReadEntriesAsync(string ownerId)
    {
        await using var dataSource = NpgsqlDataSource.Create(PostgresTestServer.ConnectionString);
        await using var command = dataSource.CreateCommand($"SELECT kind, amount, balance_after FROM \"{_databases.Schema}\".credit_entries WHERE owner_id = $1 ORDER BY id");
        command.Parameters.Add(new NpgsqlParameter { Value = ownerId });
        await using var reader = await command.ExecuteReaderAsync();
        var entries = new List<(string, long, long)>();
        while (await reader.ReadAsync())
        {
            entries.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
        }

        return entries;
    }
}
