using System.Net.Sockets;
using System.Security.Cryptography;
using MediaGen.Shared;
using Microsoft.AspNetCore.Http;
using StandardWebhooks;

namespace MediaGen.Core.Tests.Webhooks;

/// <summary>Webhooks posted to a real HTTP listener on loopback (allow-listed, as only a development host may).</summary>
public sealed class WebhookDispatcherTests : IDisposable
{
    private readonly WebhookReceiver _receiver = new();
    private readonly string _url;
    private readonly int _port;
    private readonly string _secret;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mediagen-tests", Guid.NewGuid().ToString("N"));

    public WebhookDispatcherTests()
    {
        _url = _receiver.Url;
        _port = _receiver.Port;
        _secret = _receiver.Secret;
    }

    public void Dispose()
    {
        _receiver.Dispose();
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task JobWithAllEvents_Succeeds_StartOutputAndSucceededEachVerifiedByStandardWebhooks()
    {
        var generator = new ScriptedGenerator("hook", (_, _) => ValueTask.FromResult(ScriptedGenerator.TextOutputs("png")));
        using var host = BuildHost(generator, o => { o.SigningSecret = _secret; o.PublicBaseUrl = new Uri("https://api.example.com/app/"); }, worker: true);
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();

        var submitted = await client.SubmitAsync(Request(generator, "all") with { WebhookEvents = WebhookEventFilter.All });

        var received = new List<WebhookReceiver.Received>();
        for (var i = 0; i < 3; i++)
        {
            received.Add(await ReceiveAsync(HttpStatusCode.NoContent));
        }

        var verifier = new StandardWebhook(_secret);
        foreach (var delivery in received)
        {
            verifier.Verify(Encoding.UTF8.GetString(delivery.Body), delivery.Headers);
            Assert.Throws<StandardWebhooks.Diagnostics.WebhookVerificationException>(() =>
                new StandardWebhook("whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))).Verify(Encoding.UTF8.GetString(delivery.Body), delivery.Headers));
        }

        var byType = received.ToDictionary(r => r.Type);
        Assert.Equal(["job.output", "job.started", "job.succeeded"], byType.Keys.Order(StringComparer.Ordinal));
        Assert.Equal($"{submitted.Job.Id}.1.started.1", byType["job.started"].Headers["webhook-id"].ToString());
        Assert.Equal($"{submitted.Job.Id}/0.png", byType["job.output"].Data.GetProperty("output").GetProperty("key").GetString());
        var done = byType["job.succeeded"].Data;
        Assert.Equal(submitted.Job.Id, done.GetProperty("id").GetString());
        Assert.Equal("succeeded", done.GetProperty("status").GetString());
        Assert.Equal($"{submitted.Job.Id}/0.png", done.GetProperty("outputs")[0].GetProperty("key").GetString());

        // Output URLs are signed afresh when sent and absolute, so a receiver elsewhere can fetch them.
        Assert.StartsWith($"https://api.example.com/app/media/{submitted.Job.Id}/0.png?expires=", done.GetProperty("outputs")[0].GetProperty("url").GetString(), StringComparison.Ordinal);
        Assert.StartsWith($"https://api.example.com/app/media/{submitted.Job.Id}/0.png?expires=", byType["job.output"].Data.GetProperty("output").GetProperty("url").GetString(), StringComparison.Ordinal);
        await host.StopAsync();
    }

    [Fact]
    public async Task DefaultFilter_ReceiverFailsOnce_OnlyTheTerminalEventIsSentAndRetriedWithTheSameId()
    {
        var generator = new ScriptedGenerator("hook1", (_, _) => ValueTask.FromResult(ScriptedGenerator.TextOutputs("png")));

        // The output URL in the body is signed afresh at each send with an expiry from the clock: a clock that stands
        // still keeps the two bodies equal (a real one sometimes crossed a second between the sends).
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var host = BuildHost(generator, o => { o.SigningSecret = _secret; o.RetryDelay = TimeSpan.Zero; }, worker: true, time);
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();

        var submitted = await client.SubmitAsync(Request(generator, "done"));

        var first = await ReceiveAsync(HttpStatusCode.InternalServerError);
        var second = await ReceiveAsync(HttpStatusCode.NoContent);

        Assert.Equal("job.succeeded", first.Type);
        Assert.Equal(first.Body, second.Body);
        Assert.Equal($"{submitted.Job.Id}.1.succeeded", second.Headers["webhook-id"].ToString());
        Assert.Equal(first.Headers["webhook-id"].ToString(), second.Headers["webhook-id"].ToString());
        new StandardWebhook(_secret).Verify(Encoding.UTF8.GetString(second.Body), second.Headers);
        await host.StopAsync();
    }

    [Fact]
    public async Task PendingJobCanceled_WithoutSecret_UnsignedNotificationSaysCanceled()
    {
        var generator = new ScriptedGenerator("hook2", (_, _) => ValueTask.FromResult(new GenerationResult([])));
        using var host = BuildHost(generator, _ => { }, worker: false);
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var job = (await client.SubmitAsync(Request(generator, "c"))).Job;

        await client.CancelAsync("o", job.Id);

        var received = await ReceiveAsync(HttpStatusCode.OK);
        Assert.Equal("job.canceled", received.Type);
        Assert.Equal($"{job.Id}.1.canceled", received.Headers["webhook-id"].ToString());
        Assert.False(received.Headers.ContainsKey("webhook-signature"));
        await host.StopAsync();
    }

    [Fact]
    public async Task ReceiverFails_RetryWaitsOnTheClock_OtherDeliveriesGoOnMeanwhile()
    {
        var time = new ObservedTimeProvider(TimeProvider.System.GetUtcNow());
        var generator = new ScriptedGenerator("hook3", (_, _) => ValueTask.FromResult(new GenerationResult([])));
        // The poll is set past the horizon the clock is moved within (below), as the attempts' timeouts are: otherwise the
        // dispatcher's idle poll counts as waiting on the clock while a try is on its way in real time, the clock runs on
        // past that try's timeout, and on a busy machine every try times out before it reaches the receiver.
        using var host = BuildHost(generator, o => { o.RetryDelay = TimeSpan.FromSeconds(1); o.AttemptTimeout = TimeSpan.FromMinutes(5); o.PollInterval = TimeSpan.FromMinutes(5); }, worker: false, time);
        await host.StartAsync();
        var dispatcher = host.Services.GetRequiredService<WebhookDispatcher>();

        await dispatcher.NotifyAsync(FinishedJob("slow", _url + "slow"), WebhookEventFilter.Completed);
        var slow = await _receiver.AcceptAsync();
        await dispatcher.NotifyAsync(FinishedJob("fast", _url + "fast"), WebhookEventFilter.Completed);

        // The slow receiver has not answered; the next delivery is not held behind it.
        var fast = await ReceiveAsync(HttpStatusCode.NoContent);
        Assert.Equal("fast", fast.Data.GetProperty("id").GetString());

        slow.Response.StatusCode = 503;
        slow.Response.Close();

        // The clock moves only once both answers are recorded: the fast delivery completed (gone from the outbox) and the
        // slow one waiting for its retry. Moved while an answer is still on its way, the clock could pass that try's
        // five-minute timeout, and the fast delivery would come again first. Each settled try wakes the dispatcher,
        // which arms its next wait: the signal to look again.
        var outbox = host.Services.GetRequiredService<IWebhookOutbox>();
        var fastId = dispatcher.CreateDelivery(FinishedJob("fast", _url + "fast"), WebhookEventFilter.Completed)!.Id;
        var slowId = dispatcher.CreateDelivery(FinishedJob("slow", _url + "slow"), WebhookEventFilter.Completed)!.Id;
        var changes = new ChangeSignal();
        time.TimersRearmed += changes.Pulse;
        await changes.WaitUntilAsync(
            async () => (Fast: await outbox.GetAsync(fastId), Slow: await outbox.GetAsync(slowId)),
            records => records is { Fast: null, Slow: { Status: WebhookDeliveryStatus.Waiting, Attempts: 1 } },
            records => $"both answers to be recorded; the fast delivery is {records.Fast?.Status.ToString() ?? "done"}, the slow one {records.Slow?.Status}, {records.Slow?.Attempts} attempt(s)");
        var retry = ReceiveAsync(HttpStatusCode.NoContent);

        // Only the retry's backoff (about a second) counts as waiting; the attempts' timeouts and the poll, five minutes
        // each, never fire.
        var waited = await time.AdvanceUntilDoneAsync(retry, TimeSpan.FromMilliseconds(250), TimeSpan.Zero, () => { }, horizon: TimeSpan.FromMinutes(1));

        Assert.True(waited > TimeSpan.Zero, $"The retry came after {waited} on the clock.");
        Assert.Equal("slow", (await retry).Data.GetProperty("id").GetString());
        await host.StopAsync();
    }

    [Fact]
    public async Task ReceiverRedirects_RedirectIsNotFollowed()
    {
        var generator = new ScriptedGenerator("hook4", (_, _) => ValueTask.FromResult(new GenerationResult([])));
        using var host = BuildHost(generator, _ => { }, worker: false);
        var http = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient(WebhookDispatcher.HttpClientName);

        var send = http.PostAsync(_url + "moved", new StringContent("{}"));
        var context = await _receiver.AcceptAsync();
        context.Response.StatusCode = 307;
        context.Response.RedirectLocation = _url + "elsewhere";
        context.Response.Close();

        using var response = await send;
        Assert.Equal(HttpStatusCode.TemporaryRedirect, response.StatusCode);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("10.1.2.3")]
    [InlineData("172.20.0.1")]
    [InlineData("192.168.1.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("224.0.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("fd00::1")]
    [InlineData("fe80::1")]
    [InlineData("fec0::1")]
    [InlineData("ff02::1")]
    public async Task PublicNameResolvesToNonPublicAddress_RefusedAtConnectBeforeAnyConnection(string address)
    {
        var resolver = new FixedResolver(IPAddress.Parse(address));
        var generator = new ScriptedGenerator("hook5", (_, _) => ValueTask.FromResult(new GenerationResult([])));
        using var host = BuildHost(generator, _ => { }, worker: false, resolver: resolver);
        var http = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient(WebhookDispatcher.HttpClientName);

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => http.PostAsync($"http://hooks.rebind.example:{_port}/hooks/x", new StringContent("{}")));

        Assert.IsType<OutboundAddressRefusedException>(e.InnerException);
        Assert.Equal(["hooks.rebind.example"], resolver.Asked);
    }

    [Fact]
    public async Task PublicNameResolvesToLoopback_DeliveryRefusedAndNotRetried_AllowListedNameConnects()
    {
        var resolver = new FixedResolver(IPAddress.Loopback);
        var generator = new ScriptedGenerator("hook6", (_, _) => ValueTask.FromResult(new GenerationResult([])));
        using var host = BuildHost(generator, o => o.RetryDelay = TimeSpan.Zero, worker: false, resolver: resolver);
        var dispatcher = host.Services.GetRequiredService<WebhookDispatcher>();
        var job = FinishedJob("rebind", $"http://hooks.rebind.example:{_port}/hooks/x");

        Assert.Equal(WebhookDispatcher.SendOutcome.Final, (await dispatcher.SendAsync(job.Id + ".1.failed", Envelope(dispatcher, job), CancellationToken.None)).Outcome);
        Assert.Single(resolver.Asked);

        // Allow-listed, the name connects to the address it resolved to (the Host header is the listener's, which serves
        // only its own name).
        using var allowed = BuildHost(generator, o => o.AllowedNonPublicHosts.Add("hooks.rebind.example"), worker: false, resolver: resolver);
        var http = allowed.Services.GetRequiredService<IHttpClientFactory>().CreateClient(WebhookDispatcher.HttpClientName);
        using var request = new HttpRequestMessage(HttpMethod.Post, job.Request.WebhookUrl) { Content = new ByteArrayContent(await dispatcher.BuildBodyAsync(Envelope(dispatcher, job).Payload, CancellationToken.None)) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Host = $"127.0.0.1:{_port}";
        var send = http.SendAsync(request);
        var received = await ReceiveAsync(HttpStatusCode.NoContent);
        using var response = await send;
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("rebind", received.Data.GetProperty("id").GetString());
        Assert.Equal(2, resolver.Asked.Count);
    }

    [Theory]
    [InlineData("http://127.0.0.1/x")]
    [InlineData("http://127.1/x")]
    [InlineData("http://2130706433/x")]
    [InlineData("http://0x7f000001/x")]
    [InlineData("http://0x7f.0.0.1/x")]
    [InlineData("http://0177.0.0.1/x")]
    [InlineData("http://017700000001/x")]
    [InlineData("http://127.0.0.1.:8080/x")]
    [InlineData("http://[::1]/x")]
    [InlineData("http://[::ffff:127.0.0.1]/x")]
    [InlineData("http://[::ffff:7f00:1]/x")]
    [InlineData("http://[0:0:0:0:0:0:0:1]/x")]
    [InlineData("http://0.0.0.0/x")]
    [InlineData("http://0/x")]
    [InlineData("http://localhost/x")]
    [InlineData("http://LOCALHOST./x")]
    [InlineData("http://api.localhost/x")]
    [InlineData("http://10.0.0.1/x")]
    [InlineData("http://172.16.5.4/x")]
    [InlineData("http://192.168.0.10/x")]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://100.100.100.200/x")]
    [InlineData("http://[fd12:3456::1]/x")]
    [InlineData("http://[fe80::1]/x")]
    [InlineData("http://[fec0::1]/x")]
    [InlineData("http://[ff02::1]/x")]
    [InlineData("http://[64:ff9b::7f00:1]/x")]
    [InlineData("http://[2002:7f00:1::1]/x")]
    [InlineData("http://224.0.0.251/x")]
    [InlineData("http://255.255.255.255/x")]
    [InlineData("http://intranet/x")]
    [InlineData("http://1.2.3.999/x")]
    [InlineData("https://user:pass@hooks.example.com/x")]
    [InlineData("https://token@hooks.example.com/x")]
    [InlineData("ftp://hooks.example.com/x")]
    [InlineData("file:///etc/passwd")]
    public async Task SubmitAsync_NonPublicWebhookUrl_RefusedWithValidationError(string url)
    {
        var generator = new ScriptedGenerator("hook7", (_, _) => ValueTask.FromResult(new GenerationResult([])));
        using var host = BuildHost(generator, o => o.AllowedNonPublicHosts.Clear(), worker: false);
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();

        var e = await Assert.ThrowsAsync<RequestValidationException>(() => client.SubmitAsync(Request(generator, "x") with { WebhookUrl = new Uri(url) }).AsTask());

        Assert.Equal(MediaGenErrorCodes.ValidationFailed, e.ErrorCode);
        Assert.Equal(["webhookUrl"], e.Errors.Keys);
    }

    [Theory]
    [InlineData("https://hooks.example.com/x")]
    [InlineData("http://8.8.8.8:8080/x")]
    [InlineData("http://[2606:4700:4700::1111]/x")]
    [InlineData("https://xn--bcher-kva.example/x")]
    public async Task SubmitAsync_PublicWebhookUrl_Accepted(string url)
    {
        var generator = new ScriptedGenerator("hook8", (_, _) => ValueTask.FromResult(new GenerationResult([])));
        using var host = BuildHost(generator, _ => { }, worker: false);
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();

        var submitted = await client.SubmitAsync(Request(generator, "x") with { WebhookUrl = new Uri(url) });

        Assert.Equal(new Uri(url), submitted.Job.Request.WebhookUrl);
    }

    [Theory]
    [InlineData("8.8.8.8", true)]
    [InlineData("1.1.1.1", true)]
    [InlineData("100.63.255.255", true)]
    [InlineData("100.128.0.0", true)]
    [InlineData("172.15.255.255", true)]
    [InlineData("172.32.0.0", true)]
    [InlineData("2606:4700:4700::1111", true)]
    [InlineData("::ffff:8.8.8.8", true)]
    [InlineData("127.255.255.254", false)]
    [InlineData("100.127.255.255", false)]
    [InlineData("172.31.255.255", false)]
    [InlineData("192.0.0.8", false)]
    [InlineData("192.0.2.1", false)]
    [InlineData("198.18.0.1", false)]
    [InlineData("198.51.100.1", false)]
    [InlineData("203.0.113.1", false)]
    [InlineData("240.0.0.1", false)]
    [InlineData("::ffff:10.0.0.1", false)]
    [InlineData("::127.0.0.1", false)]
    [InlineData("2001:db8::1", false)]
    [InlineData("2001::1", false)]
    [InlineData("2002:a00:1::1", false)]
    [InlineData("fc00::1", false)]
    public void IsPublic_ClassifiesAddress(string address, bool expected) =>
        Assert.Equal(expected, OutboundAddressPolicy.IsPublic(IPAddress.Parse(address)));

    private IHost BuildHost(ScriptedGenerator generator, Action<WebhookOptions> configure, bool worker, TimeProvider? time = null, IOutboundHostResolver? resolver = null) =>
        Host.CreateDefaultBuilder().ConfigureServices(s =>
        {
            if (time is not null)
            {
                s.AddSingleton<TimeProvider>(time);
            }

            if (resolver is not null)
            {
                s.AddSingleton(resolver);
            }

            var builder = s.AddMediaGeneration()
                .UseFileSystemStorage(o => o.RootPath = _root)
                .ConfigureCredits(o => o.InitialBalance = 100)
                .ConfigureWebhooks(o =>
                {
                    o.AllowedNonPublicHosts.Add("127.0.0.1");
                    configure(o);
                })
                .AddGenerator(generator);
            if (worker)
            {
                builder.AddWorker();
            }
        }).Build();

    private GenerationRequest Request(ScriptedGenerator generator, string path) =>
        new() { Prompt = "p", Model = generator.ModelId, OwnerId = "o", WebhookUrl = new Uri(_url + path) };

    private static GenerationJob FinishedJob(string id, string url) => new()
    {
        Id = id,
        Request = new GenerationRequest { Prompt = "p", Model = "m", OwnerId = "o", WebhookUrl = new Uri(url) },
        Status = JobStatus.Failed,
        CreatedAt = DateTimeOffset.UnixEpoch,
    };

    private static WebhookDispatcher.WebhookEnvelope Envelope(WebhookDispatcher dispatcher, GenerationJob job) =>
        WebhookDispatcher.Read(dispatcher.CreateDelivery(job, WebhookEventFilter.Completed)!.Payload)!;

    private Task<WebhookReceiver.Received> ReceiveAsync(HttpStatusCode reply) => _receiver.ReceiveAsync(reply);

    private sealed class FixedResolver(IPAddress address) : IOutboundHostResolver
    {
        public List<string> Asked { get; } = [];

        public ValueTask<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
        {
            lock (Asked)
            {
                Asked.Add(host);
            }

            return ValueTask.FromResult(new[] { address });
        }
    }
}
