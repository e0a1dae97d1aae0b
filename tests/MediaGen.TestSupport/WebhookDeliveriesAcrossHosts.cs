namespace MediaGen.TestSupport;

/// <summary>
/// Webhook deliveries on a shared backend's outbox, across processes (hosts): a delivery one process wrote and never sent
/// is sent by the next process to start; a delivery leased by a dispatcher that died is sent by another once the lease
/// expires; two dispatchers on one backend send each delivery once. Every delivery is checked with the Standard Webhooks
/// verifier. Deliveries come from pending jobs canceled on a host that was never started (so it sent nothing).
/// </summary>
public static class WebhookDeliveriesAcrossHosts
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>A delivery written by a process that stopped before sending it is sent by the next process.</summary>
    /// <param name="useBackend">Selects the shared backend on a builder.</param>
    /// <returns>A task that completes when the scenario passed.</returns>
    public static async Task UnsentDeliveryIsSentAfterARestartAsync(Action<IMediaGenerationBuilder> useBackend)
    {
        ArgumentNullException.ThrowIfNull(useBackend);
        using var receiver = new WebhookReceiver();
        using var storage = new TempDirectory("webhooks-restart");
        string deliveryId;
        using (var first = Build(useBackend, storage, receiver))
        {
            var job = await SubmitAndCancelAsync(first, receiver, "restart");
            deliveryId = $"{job.Id}.1.canceled";
            var waiting = await first.Services.GetRequiredService<IWebhookOutbox>().GetAsync(deliveryId);
            Assert.Equal((WebhookDeliveryStatus.Waiting, 0), (waiting?.Status, waiting?.Attempts));
        }

        using var second = Build(useBackend, storage, receiver);
        var received = receiver.ReceiveAsync(HttpStatusCode.NoContent);
        await second.StartAsync();
        try
        {
            var delivery = await received;
            receiver.Verify(delivery);
            Assert.Equal(("job.canceled", deliveryId, "canceled"), (delivery.Type, delivery.Id, delivery.Data.GetProperty("status").GetString()));
        }
        finally
        {
            await second.StopAsync();
        }

        Assert.Null(await second.Services.GetRequiredService<IWebhookOutbox>().GetAsync(deliveryId));
    }

    /// <summary>
    /// A delivery leased by a dispatcher that died mid-send is not sent while its lease lasts, and is sent by another
    /// dispatcher once it expires (on a fake clock).
    /// </summary>
    /// <param name="useBackend">Selects the shared backend on a builder.</param>
    /// <returns>A task that completes when the scenario passed.</returns>
    public static async Task ExpiredLeaseIsSentByAnotherDispatcherAsync(Action<IMediaGenerationBuilder> useBackend)
    {
        ArgumentNullException.ThrowIfNull(useBackend);
        using var receiver = new WebhookReceiver();
        using var storage = new TempDirectory("webhooks-lease");
        var time = new ObservedTimeProvider(TimeProvider.System.GetUtcNow());
        var deadLease = TimeSpan.FromSeconds(40);
        string deliveryId;
        using (var dead = Build(useBackend, storage, receiver, time))
        {
            var job = await SubmitAndCancelAsync(dead, receiver, "lease");
            deliveryId = $"{job.Id}.1.canceled";
            var leased = await dead.Services.GetRequiredService<IWebhookOutbox>().LeaseAsync(10, deadLease);
            Assert.Equal([deliveryId], leased.Select(l => l.Delivery.Id));
        }

        using var other = Build(useBackend, storage, receiver, time);
        var received = receiver.ReceiveAsync(HttpStatusCode.NoContent);
        await other.StartAsync();
        try
        {
            // The dispatcher found nothing due and waits to poll again: the dead lease still holds.
            await time.WaitForTimersAsync(1, PollInterval);
            Assert.False(received.IsCompleted, "The delivery was sent while the dead dispatcher's lease held.");
            Assert.Equal(WebhookDeliveryStatus.Leased, (await other.Services.GetRequiredService<IWebhookOutbox>().GetAsync(deliveryId))?.Status);

            // Once it expires, the next poll takes the delivery; the clock stands still while it is sent.
            time.Advance(deadLease);
            var delivery = await received;
            receiver.Verify(delivery);
            Assert.Equal(deliveryId, delivery.Id);
        }
        finally
        {
            await other.StopAsync();
        }

        Assert.Null(await other.Services.GetRequiredService<IWebhookOutbox>().GetAsync(deliveryId));
    }

    /// <summary>Two dispatchers polling one backend send each of many deliveries once while the receiver answers 2xx.</summary>
    /// <param name="useBackend">Selects the shared backend on a builder.</param>
    /// <returns>A task that completes when the scenario passed.</returns>
    public static async Task TwoDispatchersSendEachDeliveryOnceAsync(Action<IMediaGenerationBuilder> useBackend)
    {
        ArgumentNullException.ThrowIfNull(useBackend);
        const int Count = 24;
        using var receiver = new WebhookReceiver();
        using var storage = new TempDirectory("webhooks-two");
        var expected = new List<string>();
        using (var writer = Build(useBackend, storage, receiver))
        {
            for (var i = 0; i < Count; i++)
            {
                expected.Add($"{(await SubmitAndCancelAsync(writer, receiver, "two-" + i)).Id}.1.canceled");
            }
        }

        using var one = Build(useBackend, storage, receiver);
        using var two = Build(useBackend, storage, receiver);
        await one.StartAsync();
        await two.StartAsync();
        var received = new List<WebhookReceiver.Received>();
        try
        {
            for (var i = 0; i < Count; i++)
            {
                received.Add(await receiver.ReceiveAsync(HttpStatusCode.OK));
            }
        }
        finally
        {
            // Stopping waits for the deliveries in flight to settle.
            await one.StopAsync();
            await two.StopAsync();
        }

        Assert.Equal(expected.Order(StringComparer.Ordinal), received.Select(r => r.Id).Order(StringComparer.Ordinal));
        Assert.All(received, receiver.Verify);
        var outbox = one.Services.GetRequiredService<IWebhookOutbox>();
        foreach (var id in expected)
        {
            Assert.Null(await outbox.GetAsync(id));
        }
    }

    private static async Task<GenerationJob> SubmitAndCancelAsync(IHost host, WebhookReceiver receiver, string path)
    {
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var job = (await client.SubmitAsync(new GenerationRequest { Prompt = "p", Model = "procedural", OwnerId = "o", WebhookUrl = new Uri(receiver.Url + path) })).Job;
        return await client.CancelAsync("o", job.Id);
    }

    private static IHost Build(Action<IMediaGenerationBuilder> useBackend, TempDirectory storage, WebhookReceiver receiver, TimeProvider? time = null) =>
        Host.CreateDefaultBuilder().ConfigureServices(services =>
        {
            if (time is not null)
            {
                services.AddSingleton(time);
            }

            var builder = services.AddMediaGeneration()
                .UseFileSystemStorage(o => o.RootPath = storage.Path)
                .ConfigureCredits(o => o.InitialBalance = 1_000)
                .ConfigureWebhooks(o =>
                {
                    o.AllowedNonPublicHosts.Add("127.0.0.1");
                    o.SigningSecret = receiver.Secret;
                    o.PollInterval = PollInterval;
                    o.AttemptTimeout = TimeSpan.FromMinutes(5);
                })
                .AddProceduralGenerator();
            useBackend(builder);
        }).Build();
}
