namespace MediaGen.Core.Tests.Compliance;

/// <summary>The in-memory backend removes every trace of a finished job once its retention has passed.</summary>
public sealed class InMemoryRetentionTests
{
    private static readonly TimeSpan Retention = TimeSpan.FromHours(1);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task UpdateAsync_FinishedJobPastItsRetention_IsRemovedWithItsIndexesAndKey()
    {
        var store = new InMemoryJobStore(_time, Options.Create(new InMemoryBackendOptions { FinishedJobRetention = Retention }));
        var finished = await FinishAsync(store, Job("alice", "key-1"));
        var running = (await store.CreateAsync(Job("alice", "key-2"))).Job;

        _time.Advance(Retention - TimeSpan.FromSeconds(1));
        await store.UpdateAsync(running with { Progress = 0.5, Version = running.Version + 1 }, running.Version);
        Assert.NotNull(await store.GetAsync(finished.Id));

        _time.Advance(TimeSpan.FromSeconds(2));
        await store.CreateAsync(Job("bob", null));

        Assert.Null(await store.GetAsync(finished.Id));
        Assert.Equal([running.Id], (await store.ListAsync(new JobQuery { OwnerId = "alice" })).Items.Select(j => j.Id));
        Assert.Empty((await store.ListAsync(new JobQuery { OwnerId = "alice", Status = JobStatus.Succeeded })).Items);
        Assert.True((await store.CreateAsync(Job("alice", "key-1"))).Created);
        Assert.Equal(3, store.Count);
    }

    [Fact]
    public async Task UpdateAsync_NoRetention_KeepsFinishedJobs()
    {
        var store = new InMemoryJobStore(_time, Options.Create(new InMemoryBackendOptions { FinishedJobRetention = null }));
        var finished = await FinishAsync(store, Job("alice", null));

        _time.Advance(TimeSpan.FromDays(400));
        await store.CreateAsync(Job("alice", null));

        Assert.NotNull(await store.GetAsync(finished.Id));
    }

    [Fact]
    public async Task SettleAsync_SettledReservationPastItsRetention_IsRemoved()
    {
        var ledger = new InMemoryCreditLedger(Options.Create(new CreditLedgerOptions { InitialBalance = 100 }), _time, Options.Create(new InMemoryBackendOptions { FinishedJobRetention = Retention }));
        await ledger.ReserveAsync("alice", "job-1", 10);
        await ledger.ReserveAsync("alice", "job-2", 10);
        await ledger.SettleAsync("alice", "job-1", 0);

        _time.Advance(Retention + TimeSpan.FromSeconds(1));
        await ledger.SettleAsync("alice", "job-2", 10);

        Assert.Equal(1, ledger.ReservationCount);
        Assert.Equal(90, await ledger.GetBalanceAsync("alice"));
    }

    private async Task<GenerationJob> FinishAsync(InMemoryJobStore store, GenerationJob job)
    {
        var created = (await store.CreateAsync(job)).Job;
        return (await store.UpdateAsync(created with { Status = JobStatus.Succeeded, CompletedAt = _time.GetUtcNow(), Version = created.Version + 1 }, created.Version))!;
    }

    private GenerationJob Job(string owner, string? key) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        Request = new GenerationRequest { Prompt = "a lighthouse", Model = "m", OwnerId = owner, IdempotencyKey = key },
        CreatedAt = _time.GetUtcNow(),
        UpdatedAt = _time.GetUtcNow(),
        Version = 1,
    };
}
