using System.Globalization;
using Microsoft.Extensions.DependencyInjection;

namespace MediaGen.Generators.Http.Tests;

/// <summary>
/// The kit's calls and the one rate gate: a 429 pauses the provider under the generator's name in the pause store every
/// process shares, and every call, from any gate over that store, waits for the pause before it is sent. Two gates over
/// the container's pause store stand for two worker processes on one backend.
/// </summary>
public sealed class ProviderHttpClientTests : FakeServerTests<ProviderHttpClientTests.RateLimitingServer>, IDisposable
{
    private const string Provider = "acme";
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 6, 0, 0, TimeSpan.Zero);
    private readonly ObservedTimeProvider _time = new(Start);
    private readonly ServiceProvider _services = new ServiceCollection().AddMediaGeneration().Services.BuildServiceProvider();

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task SendAsync_Answered429_PausesTheProviderForEveryProcessUntilRetryAfter()
    {
        var here = Gate();
        var there = Gate();
        Server.RateLimitNext(retryAfter: "20");

        var first = Client(here).SendAsync(Request, Call, CancellationToken.None);
        await _time.WaitForTimersAsync(1, TimeSpan.FromSeconds(20));
        Assert.Equal(Start.AddSeconds(20), await there.GetPausedUntilAsync(Provider));
        Assert.Null(await there.GetPausedUntilAsync("other"));
        var second = Client(there).SendAsync(Request, Call, CancellationToken.None);
        await _time.WaitForTimersAsync(2, TimeSpan.FromSeconds(20));
        Assert.Equal(1, there.WaiterCount);

        var elapsed = await _time.AdvanceUntilDoneAsync(Task.WhenAll(first, second), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(20), () => Assert.Single(Server.Arrivals));

        Assert.True(elapsed >= TimeSpan.FromSeconds(20), $"The calls went ahead after {elapsed}.");
        Assert.Equal(3, Server.Arrivals.Count);
        Assert.All(Server.Arrivals.Skip(1), at => Assert.True(at >= Start.AddSeconds(20), $"A call was sent at {at:O}, inside the pause."));
        foreach (var response in await Task.WhenAll(first, second))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            response.Dispose();
        }
    }

    [Fact]
    public async Task SendAsync_Answered429WithAnHttpDateBeyondTheWaitLimit_PausesEveryProcessUntilThatDate()
    {
        var here = Gate();
        var there = Gate();
        var until = Start.AddSeconds(45);
        Server.RateLimitNext(retryAfter: until.ToString("r", CultureInfo.InvariantCulture));

        var error = await Assert.ThrowsAsync<GenerationException>(() => Client(here, o => o.MaxRetryWait = TimeSpan.FromSeconds(10)).SendAsync(Request, Call, CancellationToken.None));

        Assert.True(error.IsRateLimited);
        Assert.Equal(TimeSpan.FromSeconds(45), error.RetryAfter);
        Assert.Equal(until, await there.GetPausedUntilAsync(Provider));
        Assert.Single(Server.Arrivals);
    }

    [Fact]
    public async Task SendAsync_AnotherProcessPausedTheProvider_SendsNothingUntilTheDeadline()
    {
        var here = Gate();
        var there = Gate();
        await there.PauseAsync(Provider, TimeSpan.FromSeconds(30));

        var call = Client(here).SendAsync(Request, Call, CancellationToken.None);
        await _time.WaitForTimersAsync(1, TimeSpan.FromSeconds(30));
        var elapsed = await _time.AdvanceUntilDoneAsync(call, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), () => Assert.Empty(Server.Arrivals));

        Assert.True(elapsed >= TimeSpan.FromSeconds(30), $"The call went ahead after {elapsed}.");
        using var response = await call;
        Assert.Equal(Start.AddSeconds(30), Assert.Single(Server.Arrivals));
    }

    [Fact]
    public async Task SendAsync_AnotherProvidersPause_DoesNotHoldThisOne()
    {
        var here = Gate();
        await Gate().PauseAsync("other", TimeSpan.FromMinutes(5));

        using var response = await Client(here).SendAsync(Request, Call, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(Server.Arrivals);
    }

    protected override Task<RateLimitingServer> StartServerAsync() => RateLimitingServer.StartAsync(_time);

    private static ProviderCall Call { get; } = new("generate", "model 'painter'");

    private HttpRequestMessage Request() => new(HttpMethod.Post, new Uri(Server.BaseUrl, "v1/run"));

    private ProviderRateGate Gate() => new(_services.GetRequiredService<IProviderPauseStore>(), _time, NullLogger<ProviderRateGate>.Instance);

    private ProviderHttpClient Client(ProviderRateGate gate, Action<AcmeOptions>? configure = null)
    {
        var options = new AcmeOptions { ApiToken = "token", RetryBaseDelay = TimeSpan.FromMilliseconds(1) };
        configure?.Invoke(options);
        return new ProviderHttpClient(
            options,
            () => Http,
            gate,
            Provider,
            _time,
            NullLogger.Instance,
            failure => GenerationException.Permanent($"Refused with {(int)failure.Status}."));
    }

    /// <summary>A provider whose one endpoint answers 200, or 429 when told to; it notes when each call arrived on the test's clock.</summary>
    public sealed class RateLimitingServer : FakeProviderServer
    {
        private readonly ConcurrentQueue<string> _rateLimits = new();
        private TimeProvider _time = TimeProvider.System;

        public ConcurrentQueue<DateTimeOffset> Arrivals { get; } = new();

        public static async Task<RateLimitingServer> StartAsync(TimeProvider time)
        {
            var server = new RateLimitingServer { _time = time };
            await server.StartServerAsync();
            return server;
        }

        public void RateLimitNext(string retryAfter) => _rateLimits.Enqueue(retryAfter);

        protected override void Map(WebApplication app) => app.MapPost("/v1/run", (HttpContext http) =>
        {
            Arrivals.Enqueue(_time.GetUtcNow());
            if (_rateLimits.TryDequeue(out var retryAfter))
            {
                http.Response.Headers.RetryAfter = retryAfter;
                return Results.Problem(title: "Request was throttled.", statusCode: 429);
            }

            return Results.Ok(new { done = true });
        });
    }
}
