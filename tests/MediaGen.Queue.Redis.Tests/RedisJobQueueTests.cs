namespace MediaGen.Queue.Redis.Tests;

public sealed class RedisJobQueueTests : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _disposables = [];
    // Observed, so a test can move the clock only while a receive waits on it: between its waits a receive reads Redis,
    // which takes wall-clock time the fake clock does not wait for.
    private readonly ObservedTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly string _prefix = RedisTestServer.NewPrefix();
    private ConnectionMultiplexer _multiplexer = null!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var d in _disposables)
        {
            await d.DisposeAsync();
        }
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ReceiveAsync_ManyReady_TakesABatchInOneCall()
    {
        var queue = await CreateQueueAsync();
        for (var i = 0; i < 100; i++)
        {
            await queue.EnqueueAsync(new QueueMessage($"job-{i:D3}"));
        }

        var leases = await queue.ReceiveAsync(64, TimeSpan.Zero);

        Assert.Equal(64, leases.Count);
        Assert.Equal(Enumerable.Range(0, 64).Select(i => $"job-{i:D3}"), leases.Select(l => l.Message.JobId));
        Assert.Equal(new QueueDepth(36, 0, 64, 0), await queue.GetDepthAsync());
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ReceiveAsync_MixedPriorities_HighFirstThenFifo()
    {
        var queue = await CreateQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("low"), new EnqueueOptions { Priority = JobPriority.Low });
        await queue.EnqueueAsync(new QueueMessage("normal-1"));
        await queue.EnqueueAsync(new QueueMessage("high"), new EnqueueOptions { Priority = JobPriority.High });
        await queue.EnqueueAsync(new QueueMessage("normal-2"));

        var leases = await queue.ReceiveAsync(10, TimeSpan.Zero);

        Assert.Equal(["high", "normal-1", "normal-2", "low"], leases.Select(l => l.Message.JobId));
        Assert.Equal(JobPriority.High, leases[0].Priority);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ReceiveAsync_HeadersAndTimes_RoundTrip()
    {
        var queue = await CreateQueueAsync();
        var headers = new Dictionary<string, string> { ["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
        await queue.EnqueueAsync(new QueueMessage("job") { Headers = headers });

        var lease = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.Zero));

        Assert.Equal(headers, lease.Message.Headers);
        Assert.Equal(_time.GetUtcNow(), lease.EnqueuedAt);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromMinutes(1), lease.LockedUntil);
        Assert.Equal(1, lease.DeliveryCount);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ReceiveAsync_LeaseExpired_RedeliversWithDeliveryCountRaised()
    {
        var queue = await CreateQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job"));
        var first = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.Zero));
        Assert.Empty(await queue.ReceiveAsync(1, TimeSpan.Zero));

        _time.Advance(TimeSpan.FromMinutes(1));
        var second = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.Zero));

        Assert.Equal(2, second.DeliveryCount);
        await Assert.ThrowsAsync<LeaseLostException>(() => first.CompleteAsync().AsTask());
        await second.CompleteAsync();
        Assert.Equal(new QueueDepth(0, 0, 0, 0), await queue.GetDepthAsync());
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task RenewAsync_BeforeExpiry_ExtendsTheLease()
    {
        var queue = await CreateQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job"));
        var lease = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.Zero));

        _time.Advance(TimeSpan.FromSeconds(50));
        await lease.RenewAsync();
        _time.Advance(TimeSpan.FromSeconds(50));

        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(10), lease.LockedUntil);
        Assert.Empty(await queue.ReceiveAsync(1, TimeSpan.Zero));
        await lease.CompleteAsync();
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task AbandonAsync_WithDelay_StaysInvisibleUntilDue()
    {
        var queue = await CreateQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job"));
        var lease = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.Zero));

        await lease.AbandonAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(new QueueDepth(0, 1, 0, 0), await queue.GetDepthAsync());
        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.Empty(await queue.ReceiveAsync(1, TimeSpan.Zero));
        _time.Advance(TimeSpan.FromSeconds(1));

        var again = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.Zero));
        Assert.Equal(2, again.DeliveryCount);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task DisposeAsync_Unsettled_ReturnsTheMessageAtOnce()
    {
        var queue = await CreateQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job"));
        await using (var lease = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.Zero)))
        {
            Assert.Equal(1, lease.DeliveryCount);
        }

        Assert.Equal(2, Assert.Single(await queue.ReceiveAsync(1, TimeSpan.Zero)).DeliveryCount);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task DeadLetterAsync_ThenResubmit_ListsAndRequeuesWithCountReset()
    {
        var queue = await CreateQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job"));
        var lease = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.Zero));
        await lease.DeadLetterAsync("attempts_exhausted", "five attempts failed");

        var dead = Assert.Single(await queue.ListDeadLettersAsync());
        Assert.Equal(("job", "attempts_exhausted", "five attempts failed", 1, _time.GetUtcNow()), (dead.Message.JobId, dead.Reason, dead.Description, dead.DeliveryCount, dead.DeadLetteredAt));
        Assert.True(await queue.ResubmitDeadLetterAsync("job"));
        Assert.False(await queue.ResubmitDeadLetterAsync("job"));
        Assert.Empty(await queue.ListDeadLettersAsync());
        Assert.Equal(1, Assert.Single(await queue.ReceiveAsync(1, TimeSpan.Zero)).DeliveryCount);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ReceiveAsync_UnparsableBody_DeadLettersItAsMalformed()
    {
        var queue = await CreateQueueAsync();
        var db = _multiplexer.GetDatabase();
        await db.HashSetAsync(queue.Keys.MessagePrefix + "foreign", [new("b", "{not json"), new("p", 1), new("c", 0), new("e", 0)]);
        await db.SortedSetAddAsync(queue.Keys.Ready, "foreign", 1);
        await db.SortedSetAddAsync(queue.Keys.Ready, "bare-entry", 2);
        await queue.EnqueueAsync(new QueueMessage("good"));

        var lease = Assert.Single(await queue.ReceiveAsync(10, TimeSpan.Zero));

        Assert.Equal("good", lease.Message.JobId);
        var dead = await queue.ListDeadLettersAsync();
        Assert.Equal(["foreign", "bare-entry"], dead.Select(d => d.Message.MessageId).Order(StringComparer.Ordinal).Reverse());
        Assert.All(dead, d => Assert.Equal(MediaGenErrorCodes.MalformedMessage, d.Reason));
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task EnqueueAsync_SameIdStillQueued_IsDeliveredOnce()
    {
        var queue = await CreateQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job"));
        await queue.EnqueueAsync(new QueueMessage("job"));

        Assert.Single(await queue.ReceiveAsync(10, TimeSpan.Zero));
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ReceiveAsync_NothingReady_IsWokenByAnEnqueueFromAnotherClient()
    {
        var options = RedisTestServer.Options(_prefix, configure: o => o.IdleCheckInterval = TimeSpan.FromMinutes(5));
        var (connection, multiplexer) = await RedisTestServer.ConnectAsync();
        _disposables.Add(multiplexer);
        var receiver = RedisTestServer.Queue(connection, options, TimeProvider.System);
        var (peerConnection, peerMultiplexer) = await RedisTestServer.ConnectAsync();
        _disposables.Add(peerMultiplexer);
        var sender = RedisTestServer.Queue(peerConnection, options, TimeProvider.System);
        await receiver.ReceiveAsync(1, TimeSpan.Zero);

        var started = TimeProvider.System.GetTimestamp();
        var receive = receiver.ReceiveAsync(1, TimeSpan.FromSeconds(30)).AsTask();
        await sender.EnqueueAsync(new QueueMessage("job"));
        var lease = Assert.Single(await receive);

        Assert.Equal("job", lease.Message.JobId);
        Assert.True(TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(10));
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ReceiveAsync_DelayedMessage_WaiterWakesWhenItComesDue()
    {
        var queue = await CreateQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job"), new EnqueueOptions { Delay = TimeSpan.FromSeconds(20) });

        var receive = queue.ReceiveAsync(1, TimeSpan.FromMinutes(1)).AsTask();
        // Move the clock only while the receive waits on it, until it returns: each wake-up reads Redis before it waits
        // again, and a clock moved on in wall-clock time could pass the due time before that wait was armed.
        await _time.AdvanceUntilDoneAsync(receive, TimeSpan.FromMilliseconds(200), TimeSpan.Zero, static () => { });

        Assert.Equal("job", Assert.Single(await receive).Message.JobId);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task EnqueueAsync_RedisUnreachable_ThrowsQueueUnavailable()
    {
        var port = FreePort.Next();
        var multiplexer = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},abortConnect=false,connectTimeout=200,connectRetry=0");
        _disposables.Add(multiplexer);
        var queue = RedisTestServer.Queue(new RedisConnection(multiplexer, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance), RedisTestServer.Options(_prefix), _time);

        var error = await Assert.ThrowsAsync<QueueUnavailableException>(() => queue.EnqueueAsync(new QueueMessage("job")).AsTask());
        Assert.Equal(MediaGenErrorCodes.QueueUnavailable, error.ErrorCode);
    }

    private async Task<RedisJobQueue> CreateQueueAsync()
    {
        var (connection, multiplexer) = await RedisTestServer.ConnectAsync();
        _multiplexer = multiplexer;
        _disposables.Add(multiplexer);
        var queue = RedisTestServer.Queue(connection, RedisTestServer.Options(_prefix, TimeSpan.FromMinutes(1)), _time);
        _disposables.Insert(0, queue);
        return queue;
    }
}
