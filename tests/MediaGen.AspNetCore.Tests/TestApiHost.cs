using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging;

namespace MediaGen.AspNetCore.Tests;

/// <summary>
/// A host built on the package alone, as an application would write it: MediaGen on its in-memory defaults, the
/// procedural generator, an authentication scheme of its own (the <c>X-Owner</c> header names the user, as the claim
/// type in <c>X-Owner-Claim</c>, NameIdentifier by default), and <c>MapMediaGeneration("/api/v1")</c>, served by Kestrel
/// on a loopback port.
/// </summary>
public sealed class TestApiHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TempDirectory _media;

    private TestApiHost(WebApplication app, TempDirectory media, Uri address)
    {
        _app = app;
        _media = media;
        Address = address;
    }

    public Uri Address { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<TestApiHost> StartAsync(
        bool worker = true,
        Action<IServiceCollection>? services = null,
        Action<MediaGenerationOptions>? mediaGen = null,
        Action<MediaGenerationApiOptions>? api = null,
        Action<RouteGroupBuilder>? group = null,
        Action<IMediaGenerationBuilder>? mediaGenBuilder = null,
        Action<WebApplication>? application = null)
    {
        var media = new TempDirectory("aspnetcore-tests");
        WebApplication? app = null;
        try
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            builder.Services.AddAuthentication(OwnerHeaderHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, OwnerHeaderHandler>(OwnerHeaderHandler.SchemeName, null);
            builder.Services.AddAuthorization();
            var mediaGeneration = builder.Services
                .AddMediaGeneration(o => mediaGen?.Invoke(o))
                .ConfigureCredits(o => o.InitialBalance = 1_000_000)
                .UseFileSystemStorage(o => o.RootPath = media.Path)
                .AddProceduralGenerator(o =>
                {
                    o.SimulatedDuration = TimeSpan.FromMilliseconds(20);
                    o.ProgressSteps = 2;
                })
                .AddHttpApi(o => api?.Invoke(o));
            if (worker)
            {
                mediaGeneration.AddWorker(o =>
                {
                    o.ProgressInterval = TimeSpan.Zero;
                    o.ReceiveWait = TimeSpan.FromMilliseconds(200);
                    o.DrainTimeout = TimeSpan.FromSeconds(1);
                });
            }

            mediaGenBuilder?.Invoke(mediaGeneration);

            // After MediaGen's registrations, so a test's own replaces them.
            services?.Invoke(builder.Services);
            app = builder.Build();
            application?.Invoke(app);
            var routes = app.MapMediaGeneration("/api/v1");
            group?.Invoke(routes);
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new TestApiHost(app, media, new Uri(address));
        }
        catch
        {
            // A host that fails to build or start (as some tests expect) leaves nothing running and no directory behind.
            if (app is not null)
            {
                await app.DisposeAsync();
            }

            media.Dispose();
            throw;
        }
    }

    public HttpClient CreateClient(string? owner = "alice", string? claimType = null)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
        if (owner is not null)
        {
            client.DefaultRequestHeaders.Add(OwnerHeaderHandler.OwnerHeader, owner);
        }

        if (claimType is not null)
        {
            client.DefaultRequestHeaders.Add(OwnerHeaderHandler.ClaimHeader, claimType);
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _media.Dispose();
    }

    /// <summary>The test application's own authentication: <c>X-Owner</c> is the user; without it the request is anonymous.</summary>
    private sealed class OwnerHeaderHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "OwnerHeader";
        public const string OwnerHeader = "X-Owner";
        public const string ClaimHeader = "X-Owner-Claim";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (Request.Headers[OwnerHeader].ToString() is not { Length: > 0 } owner)
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var claimType = Request.Headers[ClaimHeader].ToString() is { Length: > 0 } type ? type : ClaimTypes.NameIdentifier;
            var claims = new List<Claim> { new(claimType, owner) };
            claims.AddRange(Request.Headers["X-Scope"].Select(s => new Claim("scope", s!)));
            var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
        }

        protected override Task HandleChallengeAsync(AuthenticationProperties properties)
        {
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            Response.Headers.WWWAuthenticate = "OwnerHeader";
            return Task.CompletedTask;
        }
    }
}

internal static class ApiCalls
{
    public static async Task<string> SubmitIdAsync(this HttpClient client, object body)
    {
        using var response = await client.SubmitAsync(body);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        return (await response.ReadJsonAsync()).GetProperty("id").GetString()!;
    }

    /// <summary>Follows the job's events to the end of the stream (it ends after a terminal event) and returns the final state.</summary>
    public static async Task<JsonElement> WaitForFinalAsync(this HttpClient client, string id)
    {
        using var timeout = new CancellationTokenSource(Waits.Limit);
        using var stream = await client.GetAsync($"/api/v1/generations/{id}/events", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(System.Net.HttpStatusCode.OK, stream.StatusCode);
        JsonElement last = default;
        await foreach (var (name, data) in stream.ReadEventsAsync(timeout.Token))
        {
            if (name == "job")
            {
                last = data;
            }
        }

        Assert.True(last.ValueKind == JsonValueKind.Object && last.GetProperty("completedAt").ValueKind == JsonValueKind.String, $"The stream ended before the job did: {last}");
        return last;
    }

    /// <summary>Asserts an RFC 9457 problem with this status and code, and returns it.</summary>
    public static async Task<JsonElement> AssertProblemAsync(this HttpResponseMessage response, int status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"Expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement.Clone();
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.Equal(code, problem.GetProperty("code").GetString());
        return problem;
    }
}
