using Microsoft.Extensions.Time.Testing;

namespace MediaGen.Generators.Http.Tests;

/// <summary>
/// A call that is not idempotent (<see cref="ProviderCall.IsIdempotent"/> false, a paid create) is sent again only when
/// the provider provably never received it; any other failure is thrown as <see cref="MediaGenErrorCodes.OutcomeUnknown"/>
/// for the provider to look up.
/// </summary>
public sealed class ProviderHttpClientCallOnceTests : FakeServerTests<ProviderHttpClientCallOnceTests.ScriptedServer>
{
    private static readonly ProviderCall Create = new("create", "model 'painter'") { IsIdempotent = false };

    [Theory]
    [InlineData("503")]
    [InlineData("502")]
    [InlineData("408")]
    [InlineData("drop")]
    public async Task SendAsync_NotIdempotentAndTheAnswerMayHaveFollowedTheRequest_ThrowsOutcomeUnknownWithoutResending(string answer)
    {
        Server.Answers.Enqueue(answer);

        var error = await Assert.ThrowsAsync<GenerationException>(() => Client().SendAsync(Request, Create, CancellationToken.None));

        Assert.Equal(MediaGenErrorCodes.OutcomeUnknown, error.ErrorCode);
        Assert.True(error.IsTransient);
        Assert.Equal(1, Server.Calls);
    }

    [Fact]
    public async Task SendAsync_NotIdempotentAndRateLimited_IsSentAgain()
    {
        Server.Answers.Enqueue("429");

        using var response = await Client().SendAsync(Request, Create, CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, Server.Calls);
    }

    [Fact]
    public async Task SendAsync_BeforeSend_RunsBeforeEachTryAfterTheWaitAtTheGate()
    {
        // The first try is rate-limited and pauses the provider; the second waits out the pause, then says it is leaving.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 6, 0, 0, TimeSpan.Zero));
        var gate = new ProviderRateGate(time);
        var client = Client(o => { o.DefaultRateLimitPause = TimeSpan.FromMinutes(10); o.MaxRetryWait = TimeSpan.FromHours(1); }, gate, time);
        var sends = new ConcurrentQueue<(DateTimeOffset At, int CallsBefore)>();
        Server.Answers.Enqueue("429");

        var sending = client.SendAsync(Request, Create with { BeforeSendAsync = _ => { sends.Enqueue((time.GetUtcNow(), Server.Calls)); return default; } }, CancellationToken.None);
        while (gate.WaiterCount == 0)
        {
            Assert.False(sending.IsCompleted, "The call ended without waiting at the gate.");
            await Task.Yield();
        }

        time.Advance(TimeSpan.FromMinutes(10));
        using var response = await sending.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([(time.GetUtcNow() - TimeSpan.FromMinutes(10), 0), (time.GetUtcNow(), 1)], sends);
    }

    [Fact]
    public async Task SendAsync_IdempotentAndTheServerFailed_IsSentAgain()
    {
        Server.Answers.Enqueue("503");
        Server.Answers.Enqueue("drop");

        using var response = await Client().SendAsync(Request, Create with { IsIdempotent = true }, CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, Server.Calls);
    }

    [Fact]
    public async Task SendAsync_NotIdempotentAndNoConnection_RetriesAndFailsAsAPlainTransientError()
    {
        // Nothing listens on this port: every try is refused before a request is sent, so sending again is safe.
        var closed = new Uri($"http://127.0.0.1:{FreePort.Next()}/v1/run");
        var client = Client(o => o.MaxRequestRetries = 2);

        var error = await Assert.ThrowsAsync<GenerationException>(() => client.SendAsync(() => new HttpRequestMessage(HttpMethod.Post, closed), Create, CancellationToken.None));

        Assert.Equal(MediaGenErrorCodes.GeneratorTransient, error.ErrorCode);
        Assert.True(ProviderHttpClient.IsNotSent(error.InnerException!), error.InnerException?.ToString());
    }

    protected override Task<ScriptedServer> StartServerAsync() => ScriptedServer.StartAsync();

    private HttpRequestMessage Request() => new(HttpMethod.Post, new Uri(Server.BaseUrl, "v1/run"));

    private ProviderHttpClient Client(Action<AcmeOptions>? configure = null, ProviderRateGate? gate = null, TimeProvider? time = null)
    {
        var options = new AcmeOptions { ApiToken = "token", RetryBaseDelay = TimeSpan.FromMilliseconds(1), DefaultRateLimitPause = TimeSpan.Zero };
        configure?.Invoke(options);
        return new ProviderHttpClient(
            options,
            () => Http,
            gate ?? new ProviderRateGate(TimeProvider.System),
            "acme",
            time ?? TimeProvider.System,
            NullLogger.Instance,
            failure => failure.IsTransientStatus ? GenerationException.Transient($"Failed with {(int)failure.Status}.") : GenerationException.Permanent($"Refused with {(int)failure.Status}."));
    }

    /// <summary>A provider whose one endpoint answers what the test scripts (a status, or <c>drop</c> to cut the connection), then 200.</summary>
    public sealed class ScriptedServer : FakeProviderServer
    {
        private int _calls;

        public ConcurrentQueue<string> Answers { get; } = new();

        public int Calls => Volatile.Read(ref _calls);

        public static async Task<ScriptedServer> StartAsync()
        {
            var server = new ScriptedServer();
            await server.StartServerAsync();
            return server;
        }

        protected override void Map(WebApplication app) => app.MapPost("/v1/run", (HttpContext http) =>
        {
            Interlocked.Increment(ref _calls);
            if (!Answers.TryDequeue(out var answer))
            {
                return Results.Ok(new { done = true });
            }

            if (answer == "drop")
            {
                http.Abort();
                return Results.Empty;
            }

            return Results.Problem(title: "Scripted failure.", statusCode: int.Parse(answer, System.Globalization.CultureInfo.InvariantCulture));
        });
    }
}

/// <summary>Reading the IETF <c>RateLimit</c> fields Hugging Face sends instead of Retry-After.</summary>
public sealed class ProviderResponsesRateLimitTests
{
    [Theory]
    [InlineData("RateLimit", "\"api\";r=0;t=45", 45)]
    [InlineData("RateLimit", "\"api\";r=0;t=45, \"pages\";r=10;t=300", 300)]
    [InlineData("RateLimit-Reset", "12", 12)]
    [InlineData("RateLimit", "\"api\";r=0", null)]
    [InlineData("X-Other", "t=5", null)]
    public void GetRateLimitReset_Headers_ReadTheResetInSeconds(string header, string value, int? seconds)
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.TryAddWithoutValidation(header, value);

        Assert.Equal(seconds is { } s ? TimeSpan.FromSeconds(s) : null, ProviderResponses.GetRateLimitReset(response));
    }

    [Theory]
    [InlineData("5184000")]
    [InlineData("Sat, 01 Jan 2028 00:00:00 GMT")]
    public void GetRetryAfter_LongerThanADay_IsReadAsTheLongestPause(string value)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 6, 0, 0, TimeSpan.Zero));
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.TryAddWithoutValidation("Retry-After", value);

        Assert.Equal(ProviderRateGate.MaxPause, ProviderResponses.GetRetryAfter(response, time));
    }

    [Fact]
    public void GetRetryAfter_WithinADay_IsReadAsIs()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.TryAddWithoutValidation("Retry-After", "86399");

        Assert.Equal(TimeSpan.FromSeconds(86_399), ProviderResponses.GetRetryAfter(response, TimeProvider.System));
    }
}
