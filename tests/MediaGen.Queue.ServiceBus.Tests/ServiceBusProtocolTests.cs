namespace MediaGen.Queue.ServiceBus.Tests;

/// <summary>
/// The Service Bus-specific paths through the official client against <see cref="SpecAmqpEndpoint"/> (built from
/// Microsoft's protocol description, not Service Bus itself): a refused key, a lost lock, max delivery count, duplicate
/// detection, delayed retries as scheduled copies, and a message that is not a MediaGen job message.
/// </summary>
public sealed class ServiceBusProtocolTests : IAsyncLifetime
{
    private readonly SpecEndpointClients _clients = new(new FakeTimeProvider());

    private FakeTimeProvider Time => _clients.Time;

    private SpecAmqpEndpoint Endpoint => _clients.Endpoint;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _clients.DisposeAsync();

    [Fact]
    public async Task EnqueueAsync_WrongSharedAccessKey_ThrowsQueueUnavailableNamingTheRefusal()
    {
        Endpoint.CreateQueue("jobs", TimeSpan.FromSeconds(30));
        var queue = _clients.NewQueue("jobs", o =>
        {
            o.ConnectionString = $"Endpoint=sb://127.0.0.1:{Endpoint.Port};SharedAccessKeyName={Endpoint.KeyName};SharedAccessKey=d3Jvbmc=;UseDevelopmentEmulator=true";
            o.Retry = new ServiceBusRetryOptions { MaxRetries = 0, TryTimeout = TimeSpan.FromSeconds(10) };
        });

        var e = await Assert.ThrowsAsync<QueueUnavailableException>(() => queue.EnqueueAsync(new QueueMessage("job-1")).AsTask());

        Assert.Contains("'jobs'", e.Message, StringComparison.Ordinal);
        Assert.True(Endpoint.TokensRefused >= 1, "The endpoint never saw the token it refused.");
        Assert.Equal(0, Endpoint.TokensAccepted);
    }

    [Fact]
    public async Task CompleteAsync_AfterTheLockExpired_ThrowsLeaseLostAndTheMessageComesBack()
    {
        var spec = Endpoint.CreateQueue("jobs", TimeSpan.FromSeconds(30));
        var queue = _clients.NewQueue("jobs");
        await queue.EnqueueAsync(new QueueMessage("job-1"));
        var lease = (await ReceiveAsync(queue, 1))[0];

        Time.Advance(TimeSpan.FromSeconds(31));
        var e = await Assert.ThrowsAsync<LeaseLostException>(() => lease.CompleteAsync().AsTask());

        Assert.Equal("job-1", e.MessageId);
        Assert.Equal(1, spec.StaleSettlements);
        var again = (await ReceiveAsync(queue, 1))[0];
        Assert.Equal(2, again.DeliveryCount);
        await again.CompleteAsync();
    }

    [Fact]
    public async Task RenewAsync_BeforeExpiry_MovesLockedUntilOnByTheLockDuration()
    {
        Endpoint.CreateQueue("jobs", TimeSpan.FromSeconds(30));
        var queue = _clients.NewQueue("jobs");
        await queue.EnqueueAsync(new QueueMessage("job-1"));
        var lease = (await ReceiveAsync(queue, 1))[0];

        Time.Advance(TimeSpan.FromSeconds(20));
        await lease.RenewAsync();

        Assert.Equal(Time.GetUtcNow() + TimeSpan.FromSeconds(30), lease.LockedUntil);
        await lease.CompleteAsync();
    }

    [Fact]
    public async Task AbandonAsync_MaxDeliveryCountReached_BrokerDeadLettersWithItsReason()
    {
        Endpoint.CreateQueue("jobs", TimeSpan.FromSeconds(30), maxDeliveryCount: 2);
        var queue = _clients.NewQueue("jobs");
        await queue.EnqueueAsync(new QueueMessage("job-1"));

        await (await ReceiveAsync(queue, 1))[0].AbandonAsync();
        var second = (await ReceiveAsync(queue, 1))[0];
        Assert.Equal(2, second.DeliveryCount);
        await second.AbandonAsync();

        Assert.Empty(await queue.ReceiveAsync(1, TimeSpan.Zero));
        var deadLetter = Assert.Single(await queue.ListDeadLettersAsync());
        Assert.Equal("MaxDeliveryCountExceeded", deadLetter.Reason);
        Assert.Equal(2, deadLetter.DeliveryCount);
    }

    [Fact]
    public async Task EnqueueAsync_SameMessageIdTwice_DuplicateDetectionKeepsOne()
    {
        var spec = Endpoint.CreateQueue("jobs", TimeSpan.FromSeconds(30));
        var queue = _clients.NewQueue("jobs");

        await queue.EnqueueAsync(new QueueMessage("job-1"));
        await queue.EnqueueAsync(new QueueMessage("job-1"));

        var lease = Assert.Single(await ReceiveAsync(queue, 1));
        await lease.CompleteAsync();
        Assert.Empty(await queue.ReceiveAsync(5, TimeSpan.Zero));
        Assert.Equal(1, spec.DuplicatesDropped);
    }

    [Fact]
    public async Task AbandonAsync_WithDelayTwice_CopiesGetDistinctIdsSoDuplicateDetectionKeepsThem()
    {
        var spec = Endpoint.CreateQueue("jobs", TimeSpan.FromSeconds(30));
        var queue = _clients.NewQueue("jobs");
        await queue.EnqueueAsync(new QueueMessage("job-1"));

        await (await ReceiveAsync(queue, 1))[0].AbandonAsync(TimeSpan.FromSeconds(5));
        Assert.Empty(await queue.ReceiveAsync(1, TimeSpan.Zero));
        Time.Advance(TimeSpan.FromSeconds(5));
        var second = (await ReceiveAsync(queue, 1))[0];
        await second.AbandonAsync(TimeSpan.FromSeconds(5));
        Time.Advance(TimeSpan.FromSeconds(5));
        var third = (await ReceiveAsync(queue, 1))[0];

        Assert.Equal("job-1:1", second.Message.MessageId);
        Assert.Equal("job-1:2", third.Message.MessageId);
        Assert.Equal(3, third.DeliveryCount);
        Assert.Equal(0, spec.DuplicatesDropped);
        await third.CompleteAsync();
    }

    [Fact]
    public async Task ReceiveAsync_MessageThatIsNotAJobMessage_IsDeadLetteredAsMalformed()
    {
        Endpoint.CreateQueue("jobs", TimeSpan.FromSeconds(30));
        var queue = _clients.NewQueue("jobs");
        await using (var sender = _clients.NewClient().CreateSender("jobs"))
        {
            await sender.SendMessageAsync(new ServiceBusMessage("not a job message") { MessageId = "foreign-1" });
        }

        await queue.EnqueueAsync(new QueueMessage("job-1"));

        var lease = Assert.Single(await ReceiveAsync(queue, 1));
        Assert.Equal("job-1", lease.Message.JobId);
        await lease.CompleteAsync();

        var deadLetter = Assert.Single(await PeekDeadLettersAsync("jobs"));
        Assert.Equal(MediaGenErrorCodes.MalformedMessage, deadLetter.DeadLetterReason);
        Assert.Equal("foreign-1", deadLetter.MessageId);
    }

    [Fact]
    public async Task EnqueueAsync_TraceContextHeaders_AreApplicationPropertiesOfTheServiceBusMessage()
    {
        Endpoint.CreateQueue("jobs", TimeSpan.FromSeconds(30));
        var queue = _clients.NewQueue("jobs");
        const string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

        await queue.EnqueueAsync(new QueueMessage("job-1") { Headers = new Dictionary<string, string> { ["traceparent"] = traceparent } });

        await using var receiver = _clients.NewClient().CreateReceiver("jobs");
        var message = await receiver.ReceiveMessageAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(message);
        Assert.Equal("job-1", message.MessageId);
        Assert.Equal(traceparent, message.ApplicationProperties["traceparent"]);
        Assert.Equal("""{"jobId":"job-1"}""", message.Body.ToString());
        await receiver.CompleteMessageAsync(message);
    }

    [Fact]
    public async Task ReceiveAsync_SixteenConcurrentSingleMessageReceivesOnOneQueue_ReceiveEveryMessageOnce()
    {
        const int count = 2_000;
        Endpoint.CreateQueue("jobs", TimeSpan.FromMinutes(5));
        var queue = _clients.NewQueue("jobs");
        await using (var sender = _clients.NewClient().CreateSender("jobs"))
        {
            for (var sent = 0; sent < count;)
            {
                using var batch = await sender.CreateMessageBatchAsync();
                while (sent < count && batch.TryAddMessage(new ServiceBusMessage(BinaryData.FromString($$"""{"jobId":"job-{{sent}}"}""")) { MessageId = $"job-{sent}" }))
                {
                    sent++;
                }

                await sender.SendMessagesAsync(batch);
            }
        }

        var received = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var total = 0;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            while (Volatile.Read(ref total) < count && !deadline.IsCancellationRequested)
            {
                foreach (var lease in await queue.ReceiveAsync(1, TimeSpan.FromSeconds(1), deadline.Token))
                {
                    received.AddOrUpdate(lease.Message.JobId, 1, (_, n) => n + 1);
                    await lease.CompleteAsync();
                    Interlocked.Increment(ref total);
                }
            }
        })));

        Assert.Equal(count, received.Count);
        Assert.All(received.Values, n => Assert.Equal(1, n));
    }

    private async Task<IReadOnlyList<ServiceBusReceivedMessage>> PeekDeadLettersAsync(string queue)
    {
        await using var receiver = _clients.NewClient().CreateReceiver(queue, new ServiceBusReceiverOptions { SubQueue = SubQueue.DeadLetter });
        return await receiver.PeekMessagesAsync(10);
    }

    private static async Task<List<IQueueLease>> ReceiveAsync(IJobQueue queue, int count)
    {
        var leases = new List<IQueueLease>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (leases.Count < count)
        {
            leases.AddRange(await queue.ReceiveAsync(count - leases.Count, TimeSpan.FromSeconds(10), timeout.Token));
        }

        return leases;
    }
}
