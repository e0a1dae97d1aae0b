namespace MediaGen.Core.Tests.Webhooks;

/// <summary>
/// One try of a leased delivery at a time (<see cref="WebhookDispatcher.DeliverAsync"/>) on a fake clock, against a real
/// receiver on loopback: how each answer settles the delivery in the outbox.
/// </summary>
public sealed class WebhookOutboxDeliveryTests : IDisposable
{
    private readonly WebhookReceiver _receiver = new();
    private readonly TempDirectory _storage = new("webhook-outbox");
    private readonly FakeTimeProvider _time = new(TimeProvider.System.GetUtcNow());

    public void Dispose()
    {
        _receiver.Dispose();
        _storage.Dispose();
    }

    [Fact]
    public async Task DeliverAsync_ReceiverFailsTwice_RetriedAfterTheDoublingBackoffWithTheSameId_ThenRemoved()
    {
        using var host = BuildHost(o => o.RetryDelay = TimeSpan.FromSeconds(1));
        var (dispatcher, outbox) = Parts(host);
        var id = await NotifyAsync(dispatcher, "retry");

        var first = await TryAsync(dispatcher, outbox, HttpStatusCode.ServiceUnavailable);
        var waiting = await outbox.GetAsync(id);
        Assert.Equal((WebhookDeliveryStatus.Waiting, 1, "The receiver answered 503 Service Unavailable."), (waiting!.Status, waiting.Attempts, waiting.LastError));
        AssertWithin(waiting.DueAt, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1));

        _time.Advance(waiting.DueAt - _time.GetUtcNow());
        var second = await TryAsync(dispatcher, outbox, HttpStatusCode.BadGateway);
        waiting = await outbox.GetAsync(id);
        Assert.Equal((WebhookDeliveryStatus.Waiting, 2), (waiting!.Status, waiting.Attempts));
        AssertWithin(waiting.DueAt, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));

        _time.Advance(waiting.DueAt - _time.GetUtcNow());
        var third = await TryAsync(dispatcher, outbox, HttpStatusCode.NoContent);

        Assert.Null(await outbox.GetAsync(id));
        Assert.All([first, second, third], r => Assert.Equal(id, r.Id));
        Assert.All([first, second, third], _receiver.Verify);
        Assert.Equal(first.Body, third.Body);
    }

    [Theory]
    [InlineData(HttpStatusCode.RequestTimeout)]
    [InlineData(HttpStatusCode.TooManyRequests)]
    [InlineData(HttpStatusCode.InternalServerError)]
    [InlineData(HttpStatusCode.GatewayTimeout)]
    public async Task DeliverAsync_RetryableAnswer_WaitsForTheNextTry(HttpStatusCode answer)
    {
        using var host = BuildHost(_ => { });
        var (dispatcher, outbox) = Parts(host);
        var id = await NotifyAsync(dispatcher, "retryable");

        await TryAsync(dispatcher, outbox, answer);

        Assert.Equal(WebhookDeliveryStatus.Waiting, (await outbox.GetAsync(id))!.Status);
    }

    [Theory]
    [InlineData(HttpStatusCode.BadRequest)]
    [InlineData(HttpStatusCode.Unauthorized)]
    [InlineData(HttpStatusCode.NotFound)]
    [InlineData(HttpStatusCode.Gone)]
    [InlineData(HttpStatusCode.TemporaryRedirect)]
    public async Task DeliverAsync_FinalAnswer_GivenUpAtOnceAndKeptWithTheAnswer(HttpStatusCode answer)
    {
        using var host = BuildHost(o => o.GivenUpRetention = TimeSpan.FromDays(2));
        var (dispatcher, outbox) = Parts(host);
        var id = await NotifyAsync(dispatcher, "final");

        await TryAsync(dispatcher, outbox, answer);

        var kept = await outbox.GetAsync(id);
        Assert.Equal((WebhookDeliveryStatus.GivenUp, 1), (kept!.Status, kept.Attempts));
        Assert.StartsWith($"The receiver answered {(int)answer} ", kept.LastError, StringComparison.Ordinal);
        Assert.Equal(_time.GetUtcNow().AddDays(2), kept.DueAt);
        Assert.Empty(await outbox.LeaseAsync(10, dispatcher.LeaseDuration));
    }

    [Fact]
    public async Task DeliverAsync_RetryAfter_NextTryNotBeforeIt()
    {
        using var host = BuildHost(o => o.RetryDelay = TimeSpan.FromSeconds(1));
        var (dispatcher, outbox) = Parts(host);
        var id = await NotifyAsync(dispatcher, "later");

        await TryAsync(dispatcher, outbox, HttpStatusCode.TooManyRequests, retryAfter: 120);

        Assert.Equal(_time.GetUtcNow().AddSeconds(120), (await outbox.GetAsync(id))!.DueAt);
    }

    [Fact]
    public async Task DeliverAsync_RetryAfterOfDecades_NextTryWithinADay()
    {
        using var host = BuildHost(o => o.MaxRetryDelay = TimeSpan.FromHours(1));
        var (dispatcher, outbox) = Parts(host);
        var id = await NotifyAsync(dispatcher, "parked");

        await TryAsync(dispatcher, outbox, HttpStatusCode.ServiceUnavailable, retryAfter: int.MaxValue);

        // A receiver's Retry-After wins over the backoff only up to a day: beyond, it would park the delivery for good.
        var record = (await outbox.GetAsync(id))!;
        Assert.Equal((WebhookDeliveryStatus.Waiting, _time.GetUtcNow().AddDays(1)), (record.Status, record.DueAt));
    }

    [Fact]
    public void WebhookHttpClient_HasNoTimeoutOfItsOwn_SoTheAttemptTimeoutBoundsEachTry()
    {
        using var host = BuildHost(o => o.AttemptTimeout = TimeSpan.FromMinutes(5));
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient(WebhookDispatcher.HttpClientName);

        Assert.Equal(Timeout.InfiniteTimeSpan, client.Timeout);
    }

    [Theory]
    [InlineData("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]  // 33 characters: no base64 has that length
    [InlineData("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")] // 32 characters and padding
    public void SigningSecret_MatchingThePatternButNotBase64_IsAStartUpErrorNamingIt(string secret)
    {
        using var host = BuildHost(o => o.SigningSecret = secret);

        var error = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<WebhookOptions>>().Value);
        Assert.Contains("SigningSecret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeliverAsync_LastAttemptFails_GivenUpWithItsError()
    {
        using var host = BuildHost(o => { o.MaxAttempts = 2; o.RetryDelay = TimeSpan.Zero; });
        var (dispatcher, outbox) = Parts(host);
        var id = await NotifyAsync(dispatcher, "spent");

        await TryAsync(dispatcher, outbox, HttpStatusCode.ServiceUnavailable);
        await TryAsync(dispatcher, outbox, HttpStatusCode.InternalServerError);

        var kept = await outbox.GetAsync(id);
        Assert.Equal((WebhookDeliveryStatus.GivenUp, 2, "The receiver answered 500 Internal Server Error."), (kept!.Status, kept.Attempts, kept.LastError));
    }

    [Fact]
    public async Task DeliverAsync_EarlierLeasesExpiredUnanswered_AttemptsSpentGivenUpWithoutSending()
    {
        using var host = BuildHost(o => o.MaxAttempts = 1);
        var (dispatcher, outbox) = Parts(host);
        var id = await NotifyAsync(dispatcher, "dead");
        Assert.Single(await outbox.LeaseAsync(1, dispatcher.LeaseDuration));
        _time.Advance(dispatcher.LeaseDuration);

        var lease = Assert.Single(await outbox.LeaseAsync(1, dispatcher.LeaseDuration));
        await dispatcher.DeliverAsync(lease, CancellationToken.None);

        var kept = await outbox.GetAsync(id);
        Assert.Equal((WebhookDeliveryStatus.GivenUp, 2), (kept!.Status, kept.Attempts));
    }

    [Fact]
    public async Task NotifyAsync_SameEventTwice_OneDelivery()
    {
        using var host = BuildHost(_ => { });
        var (dispatcher, outbox) = Parts(host);

        await NotifyAsync(dispatcher, "twice");
        await NotifyAsync(dispatcher, "twice");

        Assert.Single(await outbox.LeaseAsync(10, dispatcher.LeaseDuration));
    }

    private async Task<WebhookReceiver.Received> TryAsync(WebhookDispatcher dispatcher, IWebhookOutbox outbox, HttpStatusCode answer, int? retryAfter = null)
    {
        var lease = Assert.Single(await outbox.LeaseAsync(1, dispatcher.LeaseDuration));
        var received = _receiver.ReceiveAsync(answer, retryAfter);
        await dispatcher.DeliverAsync(lease, CancellationToken.None);
        return await received;
    }

    private void AssertWithin(DateTimeOffset due, TimeSpan from, TimeSpan to)
    {
        var delay = due - _time.GetUtcNow();
        Assert.True(delay >= from && delay <= to, $"The next try is due in {delay}, not within [{from}, {to}].");
    }

    private async Task<string> NotifyAsync(WebhookDispatcher dispatcher, string id)
    {
        var job = new GenerationJob
        {
            Id = id,
            Request = new GenerationRequest { Prompt = "p", Model = "m", OwnerId = "o", WebhookUrl = new Uri(_receiver.Url + id) },
            Status = JobStatus.Failed,
            CreatedAt = DateTimeOffset.UnixEpoch,
        };
        await dispatcher.NotifyAsync(job, WebhookEventFilter.Completed);
        return dispatcher.CreateDelivery(job, WebhookEventFilter.Completed)!.Id;
    }

    private static (WebhookDispatcher Dispatcher, IWebhookOutbox Outbox) Parts(IHost host) =>
        (host.Services.GetRequiredService<WebhookDispatcher>(), host.Services.GetRequiredService<IWebhookOutbox>());

    private IHost BuildHost(Action<WebhookOptions> configure) =>
        Host.CreateDefaultBuilder().ConfigureServices(s =>
        {
            s.AddSingleton<TimeProvider>(_time);
            s.AddMediaGeneration()
                .UseFileSystemStorage(o => o.RootPath = _storage.Path)
                .ConfigureWebhooks(o =>
                {
                    o.AllowedNonPublicHosts.Add("127.0.0.1");
                    o.SigningSecret = _receiver.Secret;
                    configure(o);
                });
        }).Build();
}
