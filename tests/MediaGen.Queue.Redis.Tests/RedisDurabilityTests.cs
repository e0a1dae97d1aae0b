namespace MediaGen.Queue.Redis.Tests;

/// <summary>
/// Runs a redis-server of its own with <c>appendonly yes</c> and <c>appendfsync always</c>, kills it with SIGKILL
/// mid-run and restarts it on the same port and directory: nothing accepted may be lost, and the same clients must
/// reconnect by themselves.
/// </summary>
public sealed class RedisDurabilityTests : IAsyncLifetime
{
    private readonly RedisServerProcess _redis = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _redis.Dispose();
        return Task.CompletedTask;
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task RedisKilledAndRestarted_WithAppendFsyncAlways_LosesNoAcceptedJobAndClientsReconnect()
    {
        await _redis.StartAsync();
        var options = RedisTestServer.Options(RedisTestServer.NewPrefix(), configure: o => o.IdleCheckInterval = TimeSpan.FromMilliseconds(200));
        await using var connection = new RedisConnection(_redis.Address, NullLogger.Instance);
        var queue = RedisTestServer.Queue(connection, options, TimeProvider.System);
        var store = new RedisJobStore(connection, options, TimeProvider.System);
        var ledger = new RedisCreditLedger(connection, options, () => 1000);

        // Submitted concurrently, as an API under load would: Redis then fsyncs many writes at once.
        await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            var job = NewJob(i);
            await store.CreateAsync(job);
            await ledger.ReserveAsync(job.OwnerId, job.Id, 2);
            await queue.EnqueueAsync(new QueueMessage(job.Id));
        }));

        var leased = await queue.ReceiveAsync(50, TimeSpan.Zero);
        await Task.WhenAll(leased.Take(25).Select(l => l.CompleteAsync().AsTask()));

        _redis.Kill();
        await Assert.ThrowsAsync<QueueUnavailableException>(async () => await queue.EnqueueAsync(new QueueMessage("during-outage")));
        await Assert.ThrowsAsync<QueueUnavailableException>(async () => await store.CreateAsync(NewJob(999)));
        await _redis.StartAsync();

        QueueDepth? depth = null;
        for (var i = 0; i < 300 && depth is null; i++)
        {
            try
            {
                depth = await queue.GetDepthAsync();
            }
            catch (QueueUnavailableException)
            {
                await Task.Delay(100);
            }
        }

        Assert.Equal(new QueueDepth(150, 0, 25, 0), depth);
        Assert.Equal(1000 - (200 * 2), await ledger.GetBalanceAsync("owner"));
        Assert.Equal(200, (await store.ListAsync(new JobQuery { OwnerId = "owner", Limit = 200 })).Items.Count);
        Assert.Null(await store.GetAsync(NewJob(999).Id));

        // The 25 leases that were held across the restart are still leased, and settle normally.
        await Task.WhenAll(leased.Skip(25).Select(l => l.CompleteAsync().AsTask()));
        var rest = new List<IQueueLease>();
        while (rest.Count < 150)
        {
            var batch = await queue.ReceiveAsync(100, TimeSpan.FromSeconds(5));
            Assert.NotEmpty(batch);
            rest.AddRange(batch);
        }

        Assert.Equal(150, rest.Select(l => l.Message.JobId).Distinct().Count());
    }

    private static GenerationJob NewJob(int i) => new()
    {
        Id = i.ToString("x32", System.Globalization.CultureInfo.InvariantCulture),
        Request = new GenerationRequest { Prompt = $"prompt {i}", Model = "m", OwnerId = "owner" },
        CreatedAt = DateTimeOffset.UnixEpoch,
    };
}
