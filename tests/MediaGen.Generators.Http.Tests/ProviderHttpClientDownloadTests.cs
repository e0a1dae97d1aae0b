namespace MediaGen.Generators.Http.Tests;

/// <summary>
/// Output downloads: the URL is the model's choice, so off the API's host it must name a public address (or an
/// allow-listed host), and no download follows a redirect to somewhere nobody checked.
/// </summary>
public sealed class ProviderHttpClientDownloadTests : FakeServerTests<ProviderHttpClientDownloadTests.FileServer>
{
    [Fact]
    public async Task DownloadAsync_OnTheApiHost_SendsTheTokenAndDownloads()
    {
        using var response = await Client().DownloadAsync(new Uri(Server.BaseUrl, "files/out.png"), CancellationToken.None);

        Assert.Equal(FileServer.Png, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(["Bearer token"], Server.Authorizations);
    }

    [Fact]
    public async Task DownloadAsync_ARedirect_IsRefusedNotFollowed()
    {
        var error = await Assert.ThrowsAsync<GenerationException>(() => Client().DownloadAsync(new Uri(Server.BaseUrl, "files/moved"), CancellationToken.None));

        Assert.False(error.IsTransient);
        Assert.Contains("redirect to 'http://169.254.169.254/latest/meta-data/'", error.Message, StringComparison.Ordinal);
        Assert.Contains("do not follow redirects", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://[::ffff:10.0.0.1]/a.png")]
    [InlineData("http://2130706433/a.png")]
    [InlineData("http://localhost/a.png")]
    [InlineData("http://metadata/a.png")]
    [InlineData("file:///etc/passwd")]
    [InlineData("http://user:secret@images.example.com/a.png")]
    public async Task DownloadAsync_OffTheApiHost_AnUrlThatMayNotBeFetched_IsRefusedBeforeConnecting(string url)
    {
        var client = Client();

        Assert.False(Assert.Throws<GenerationException>(() => client.CheckDownloadUrl(new Uri(url))).IsTransient);
        var error = await Assert.ThrowsAsync<GenerationException>(() => client.DownloadAsync(new Uri(url), CancellationToken.None));
        Assert.False(error.IsTransient);
        Assert.True(error.IsRefundable);
        Assert.StartsWith("Refused to download a Acme output from", error.Message, StringComparison.Ordinal);
        Assert.Empty(Server.Authorizations);
    }

    [Fact]
    public async Task DownloadAsync_OffTheApiHost_AnAllowListedLoopbackHost_DownloadsWithoutTheToken()
    {
        var url = new Uri($"http://localhost:{Server.BaseUrl.Port}/files/out.png");
        await Assert.ThrowsAsync<GenerationException>(() => Client().DownloadAsync(url, CancellationToken.None));

        using var response = await Client(o => o.AllowedNonPublicOutputHosts.Add("localhost")).DownloadAsync(url, CancellationToken.None);

        Assert.Equal(FileServer.Png, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal([string.Empty], Server.Authorizations);
    }

    protected override Task<FileServer> StartServerAsync() => FileServer.StartAsync();

    private ProviderHttpClient Client(Action<AcmeOptions>? configure = null)
    {
        var options = new AcmeOptions { ApiToken = "token", BaseUrl = Server.BaseUrl };
        configure?.Invoke(options);
        return new ProviderHttpClient(
            options,
            () => Http,
            new ProviderRateGate(TimeProvider.System),
            "acme",
            TimeProvider.System,
            NullLogger.Instance,
            failure => GenerationException.Permanent($"Refused with {(int)failure.Status}."));
    }

    /// <summary>Serves one PNG, and a redirect to the cloud metadata address; notes the Authorization of each request.</summary>
    public sealed class FileServer : FakeProviderServer
    {
        public static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3];

        public ConcurrentQueue<string> Authorizations { get; } = new();

        public static async Task<FileServer> StartAsync()
        {
            var server = new FileServer();
            await server.StartServerAsync();
            return server;
        }

        protected override void Map(WebApplication app)
        {
            app.MapGet("/files/out.png", (HttpContext http) =>
            {
                Authorizations.Enqueue(http.Request.Headers.Authorization.ToString());
                return Results.Bytes(Png, "image/png");
            });
            app.MapGet("/files/moved", (HttpContext http) =>
            {
                Authorizations.Enqueue(http.Request.Headers.Authorization.ToString());
                return Results.Redirect("http://169.254.169.254/latest/meta-data/");
            });
        }
    }
}
