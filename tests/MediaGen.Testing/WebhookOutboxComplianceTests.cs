namespace MediaGen.Testing;

/// <summary>
/// The <see cref="IWebhookOutbox"/> contract, written once: deliveries are added once per id, leased when due (earliest
/// first) by one caller at a time, come back when a lease expires, are completed (removed), retried later with their
/// error, or given up and kept for inspection until their retention passes. Two clients (processes) on one backend never
/// hold the same delivery at once.
/// </summary>
public abstract class WebhookOutboxComplianceTests : ComplianceTestBase
{
    /// <summary>The lease duration the suite asks for.</summary>
    protected static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(30);

    /// <summary>Creates a fresh, isolated outbox whose clock is <see cref="ComplianceTestBase.Time"/>.</summary>
    /// <returns>The outbox.</returns>
    protected abstract ValueTask<IWebhookOutbox> CreateOutboxAsync();

    /// <summary>
    /// Creates a second client of the same outbox, as another process of a distributed deployment would hold. The default
    /// returns the same instance.
    /// </summary>
    /// <param name="outbox">An outbox from <see cref="CreateOutboxAsync"/>.</param>
    /// <returns>The peer client.</returns>
    protected virtual ValueTask<IWebhookOutbox> CreatePeerOutboxAsync(IWebhookOutbox outbox) => ValueTask.FromResult(outbox);

    [ComplianceFact]
    public async Task AddAsync_ThenLease_ReturnsTheDeliveryAsAddedOnItsFirstAttempt()
    {
        var outbox = await NewOutboxAsync();
        var delivery = Delivery("a", payload: "{\"type\":\"job.succeeded\",\"text\":\"ünïcødé \\\" ' \\n\"}");

        Assert.True(await outbox.AddAsync(delivery));
        var leases = await outbox.LeaseAsync(10, LeaseDuration);

        var lease = Assert.Single(leases);
        Assert.Equal(delivery.Id, lease.Delivery.Id);
        Assert.Equal(delivery.JobId, lease.Delivery.JobId);
        Assert.Equal(delivery.Payload, lease.Delivery.Payload);
        Assert.Equal(1, lease.Attempt);
        Assert.Null(lease.LastError);
        Assert.Equal(Time.GetUtcNow() + LeaseDuration, lease.LockedUntil);
        Assert.False(string.IsNullOrEmpty(lease.Token));
    }

    [ComplianceFact]
    public async Task AddAsync_SameIdTwice_KeepsTheFirstAndReturnsFalse()
    {
        var outbox = await NewOutboxAsync();
        var peer = await NewPeerAsync(outbox);

        Assert.True(await outbox.AddAsync(Delivery("a", payload: "first")));
        Assert.False(await peer.AddAsync(Delivery("a", payload: "second")));

        var lease = Assert.Single(await outbox.LeaseAsync(10, LeaseDuration));
        Assert.Equal("first", lease.Delivery.Payload);
    }

    [ComplianceFact]
    public async Task AddAsync_WhileLeasedOrGivenUp_ChangesNothing()
    {
        var outbox = await NewOutboxAsync();
        await outbox.AddAsync(Delivery("a"));
        await outbox.AddAsync(Delivery("b"));
        var leases = await outbox.LeaseAsync(10, LeaseDuration);
        await outbox.GiveUpAsync(leases.Single(l => l.Delivery.Id == "b"), "gone", TimeSpan.FromHours(1));

        Assert.False(await outbox.AddAsync(Delivery("a")));
        Assert.False(await outbox.AddAsync(Delivery("b")));

        Assert.Equal(WebhookDeliveryStatus.Leased, (await outbox.GetAsync("a"))!.Status);
        Assert.Equal(WebhookDeliveryStatus.GivenUp, (await outbox.GetAsync("b"))!.Status);
        Assert.Empty(await outbox.LeaseAsync(10, LeaseDuration));
    }

    [ComplianceFact]
    public async Task LeaseAsync_DueLater_IsNotLeasedUntilItsTime()
    {
        var outbox = await NewOutboxAsync();
        await outbox.AddAsync(Delivery("later") with { DueAt = Time.GetUtcNow().AddSeconds(10) });

        Assert.Empty(await outbox.LeaseAsync(10, LeaseDuration));
        Time.Advance(TimeSpan.FromSeconds(9));
        Assert.Empty(await outbox.LeaseAsync(10, LeaseDuration));
        Time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("later", Assert.Single(await outbox.LeaseAsync(10, LeaseDuration)).Delivery.Id);
    }

    [ComplianceFact]
    public async Task LeaseAsync_ManyDue_EarliestFirstAndAtMostMaxCount()
    {
        var outbox = await NewOutboxAsync();
        var now = Time.GetUtcNow();
        await outbox.AddAsync(Delivery("c") with { DueAt = now.AddSeconds(-1) });
        await outbox.AddAsync(Delivery("a") with { DueAt = now.AddSeconds(-3) });
        await outbox.AddAsync(Delivery("b") with { DueAt = now.AddSeconds(-2) });
        await outbox.AddAsync(Delivery("d") with { DueAt = now.AddSeconds(5) });

        var first = await outbox.LeaseAsync(2, LeaseDuration);
        var second = await outbox.LeaseAsync(2, LeaseDuration);

        Assert.Equal(["a", "b"], first.Select(l => l.Delivery.Id));
        Assert.Equal(["c"], second.Select(l => l.Delivery.Id));
    }

    [ComplianceFact]
    public async Task LeaseAsync_WhileLeased_NoOtherClientGetsIt()
    {
        var outbox = await NewOutboxAsync();
        var peer = await NewPeerAsync(outbox);
        await outbox.AddAsync(Delivery("a"));

        Assert.Single(await outbox.LeaseAsync(10, LeaseDuration));
        Time.Advance(LeaseDuration - TimeSpan.FromMilliseconds(1));

        Assert.Empty(await peer.LeaseAsync(10, LeaseDuration));
        Assert.Empty(await outbox.LeaseAsync(10, LeaseDuration));
    }

    [ComplianceFact]
    public async Task LeaseAsync_LeaseExpired_DueAgainWithTheNextAttemptAndTheOldLeaseCannotSettle()
    {
        var outbox = await NewOutboxAsync();
        var peer = await NewPeerAsync(outbox);
        await outbox.AddAsync(Delivery("a"));
        var dead = Assert.Single(await outbox.LeaseAsync(10, LeaseDuration));

        Time.Advance(LeaseDuration);
        var taken = Assert.Single(await peer.LeaseAsync(10, LeaseDuration));

        Assert.Equal(2, taken.Attempt);
        Assert.NotEqual(dead.Token, taken.Token);
        Assert.False(await outbox.CompleteAsync(dead));
        Assert.False(await outbox.RetryAsync(dead, Time.GetUtcNow(), "late"));
        Assert.False(await outbox.GiveUpAsync(dead, "late", TimeSpan.FromHours(1)));
        Assert.Equal(WebhookDeliveryStatus.Leased, (await outbox.GetAsync("a"))!.Status);
        Assert.True(await peer.CompleteAsync(taken));
    }

    [ComplianceFact]
    public async Task CompleteAsync_Held_RemovesTheDelivery()
    {
        var outbox = await NewOutboxAsync();
        var peer = await NewPeerAsync(outbox);
        await outbox.AddAsync(Delivery("a"));
        var lease = Assert.Single(await outbox.LeaseAsync(10, LeaseDuration));

        Assert.True(await outbox.CompleteAsync(lease));

        Assert.Null(await peer.GetAsync("a"));
        Assert.False(await outbox.CompleteAsync(lease));
        Time.Advance(LeaseDuration * 2);
        Assert.Empty(await peer.LeaseAsync(10, LeaseDuration));
    }

    [ComplianceFact]
    public async Task RetryAsync_Held_DueAtTheGivenTimeWithItsErrorAndAttemptCount()
    {
        var outbox = await NewOutboxAsync();
        var peer = await NewPeerAsync(outbox);
        await outbox.AddAsync(Delivery("a"));
        var lease = Assert.Single(await outbox.LeaseAsync(10, LeaseDuration));
        var due = Time.GetUtcNow().AddSeconds(4);

        Assert.True(await outbox.RetryAsync(lease, due, "503 Service Unavailable"));

        var waiting = await peer.GetAsync("a");
        Assert.NotNull(waiting);
        Assert.Equal(WebhookDeliveryStatus.Waiting, waiting.Status);
        Assert.Equal(1, waiting.Attempts);
        Assert.Equal("503 Service Unavailable", waiting.LastError);
        Assert.Equal(due, waiting.DueAt);
        Assert.False(await outbox.CompleteAsync(lease));
        Time.Advance(TimeSpan.FromSeconds(3));
        Assert.Empty(await peer.LeaseAsync(10, LeaseDuration));
        Time.Advance(TimeSpan.FromSeconds(1));

        var again = Assert.Single(await peer.LeaseAsync(10, LeaseDuration));
        Assert.Equal(2, again.Attempt);
        Assert.Equal("503 Service Unavailable", again.LastError);
    }

    [ComplianceFact]
    public async Task GiveUpAsync_Held_NeverLeasedAgainAndKeptUntilItsRetentionPasses()
    {
        var outbox = await NewOutboxAsync();
        var peer = await NewPeerAsync(outbox);
        await outbox.AddAsync(Delivery("a"));
        var lease = Assert.Single(await outbox.LeaseAsync(10, LeaseDuration));

        Assert.True(await outbox.GiveUpAsync(lease, "410 Gone", TimeSpan.FromMinutes(10)));

        var kept = await peer.GetAsync("a");
        Assert.NotNull(kept);
        Assert.Equal(WebhookDeliveryStatus.GivenUp, kept.Status);
        Assert.Equal("410 Gone", kept.LastError);
        Assert.Equal(1, kept.Attempts);
        Assert.Equal(Time.GetUtcNow().AddMinutes(10), kept.DueAt);
        Time.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromMilliseconds(1));
        Assert.Empty(await peer.LeaseAsync(10, LeaseDuration));
        Assert.NotNull(await peer.GetAsync("a"));
        Time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Empty(await peer.LeaseAsync(10, LeaseDuration));
        Assert.Null(await peer.GetAsync("a"));
        Assert.True(await outbox.AddAsync(Delivery("a", payload: "anew")));
    }

    [ComplianceFact]
    public async Task GiveUpAsync_ManyExpireAtOnce_EachGoneOnceItsRetentionPasses()
    {
        var outbox = await NewOutboxAsync();
        var ids = Enumerable.Range(0, 150).Select(i => "g" + i.ToString("000", System.Globalization.CultureInfo.InvariantCulture)).ToList();
        foreach (var id in ids)
        {
            await outbox.AddAsync(Delivery(id));
        }

        foreach (var lease in await outbox.LeaseAsync(150, LeaseDuration))
        {
            Assert.True(await outbox.GiveUpAsync(lease, "410 Gone", TimeSpan.FromMinutes(1)));
        }

        Time.Advance(TimeSpan.FromMinutes(1));

        // More expire at once than a call removes in passing: each one past its retention is still gone.
        Assert.Null(await outbox.GetAsync("g149"));
        Assert.True(await outbox.AddAsync(Delivery("g148", payload: "anew")));
    }

    [ComplianceFact]
    public async Task GiveUpAsync_ZeroRetention_RemovesAtOnce()
    {
        var outbox = await NewOutboxAsync();
        await outbox.AddAsync(Delivery("a"));
        var lease = Assert.Single(await outbox.LeaseAsync(10, LeaseDuration));

        Assert.True(await outbox.GiveUpAsync(lease, "unreadable", TimeSpan.Zero));

        Assert.Null(await outbox.GetAsync("a"));
    }

    [ComplianceFact]
    public async Task GetAsync_Unknown_ReturnsNull()
    {
        var outbox = await NewOutboxAsync();

        Assert.Null(await outbox.GetAsync("never-added"));
    }

    [ComplianceFact]
    public async Task GetAsync_Waiting_ReportsDueTimeAndNoAttempts()
    {
        var outbox = await NewOutboxAsync();
        var due = Time.GetUtcNow().AddSeconds(7);
        await outbox.AddAsync(Delivery("a") with { DueAt = due });

        var record = await outbox.GetAsync("a");

        Assert.NotNull(record);
        Assert.Equal(WebhookDeliveryStatus.Waiting, record.Status);
        Assert.Equal(0, record.Attempts);
        Assert.Null(record.LastError);
        Assert.Equal(due, record.DueAt);
        Assert.Equal("job-a", record.Delivery.JobId);
    }

    [ComplianceFact]
    public async Task LeaseAsync_TwoClientsAtOnce_EachDeliveryLeasedOnce()
    {
        var outbox = await NewOutboxAsync();
        var peer = await NewPeerAsync(outbox);
        var ids = Enumerable.Range(0, 60).Select(i => "d" + i).ToList();
        foreach (var id in ids)
        {
            await outbox.AddAsync(Delivery(id));
        }

        var rounds = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(async () =>
        {
            var client = i % 2 == 0 ? outbox : peer;
            var mine = new List<string>();
            for (var j = 0; j < 4; j++)
            {
                mine.AddRange((await client.LeaseAsync(3, LeaseDuration)).Select(l => l.Delivery.Id));
            }

            return mine;
        })));

        var leased = rounds.SelectMany(r => r).ToList();
        Assert.Equal(leased.Count, leased.Distinct().Count());
        Assert.Equal(ids.Order(StringComparer.Ordinal), leased.Order(StringComparer.Ordinal));
    }

    [ComplianceFact]
    public async Task LeaseAsync_InvalidArguments_Throw()
    {
        var outbox = await NewOutboxAsync();

        await Assert.ThrowsAnyAsync<ArgumentException>(() => outbox.LeaseAsync(0, LeaseDuration).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => outbox.LeaseAsync(1, TimeSpan.Zero).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => outbox.AddAsync(Delivery("")).AsTask());
    }

    /// <summary>A delivery with id <paramref name="id"/> for job <c>job-{id}</c>.</summary>
    /// <param name="id">The delivery id.</param>
    /// <param name="payload">The payload.</param>
    /// <returns>The delivery.</returns>
    protected static WebhookDelivery Delivery(string id, string payload = "{}") => new() { Id = id, JobId = "job-" + id, Payload = payload };

    /// <summary>Creates a tracked outbox.</summary>
    /// <returns>The outbox.</returns>
    protected async Task<IWebhookOutbox> NewOutboxAsync() => Track(await CreateOutboxAsync());

    /// <summary>Creates a tracked peer of <paramref name="outbox"/>.</summary>
    /// <param name="outbox">The outbox.</param>
    /// <returns>The peer.</returns>
    protected async Task<IWebhookOutbox> NewPeerAsync(IWebhookOutbox outbox) => Track(await CreatePeerOutboxAsync(outbox));
}
