using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace MediaGen.Storage.Blob.Tests;

/// <summary>What the Blob storage does beyond the compliance suite: blocks, SAS URLs, interop, configuration errors.</summary>
public sealed class BlobMediaStorageTests : IAsyncLifetime
{
    private static readonly StorageWriteOptions Png = new() { ContentType = "image/png" };

    private static readonly Dictionary<string, string> Metadata = new() { ["job-id"] = "job-2", ["owner"] = "owner-1", ["model"] = "flux" };

    private readonly string _container = BlobTestServer.NewContainerName();
    private readonly List<ServiceProvider> _providers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(BlobTestServer.EndpointVariable)))
        {
            await BlobTestServer.CreateAdminClient().GetBlobContainerClient(_container).DeleteIfExistsAsync();
        }
    }

    [ServerFact(BlobTestServer.EndpointVariable)]
    public async Task SaveAsync_LongerThanABlock_CommitsEveryBlockWithHeadersAndMetadata()
    {
        var storage = Storage(o => o.BlockSize = 1024 * 1024);
        var content = RandomNumberGenerator.GetBytes((3 * 1024 * 1024) + 5);

        var stored = await storage.SaveAsync("job-1/0.png", new TricklingStream(content, 100_000), Png with { Metadata = Metadata });

        Assert.Equal(content.Length, stored.Size);
        var blob = BlobTestServer.CreateAdminClient().GetBlobContainerClient(_container).GetBlockBlobClient("job-1/0.png");
        var blocks = (await blob.GetBlockListAsync(BlockListTypes.All)).Value;
        Assert.Equal(4, blocks.CommittedBlocks.Count());
        Assert.Empty(blocks.UncommittedBlocks);
        var properties = (await blob.GetPropertiesAsync()).Value;
        Assert.Equal("image/png", properties.ContentType);
        Assert.Equal("job-2", properties.Metadata["job_id"]);
        Assert.Equal("owner-1", properties.Metadata["owner"]);
    }

    [ServerFact(BlobTestServer.EndpointVariable)]
    public async Task GetReadUrlAsync_Sas_IsReadOnlyExpiresOnTheLifetimeAndServesTheBlob()
    {
        var now = new DateTimeOffset(DateTimeOffset.UtcNow.Ticks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, TimeSpan.Zero);
        var clock = new FakeTimeProvider(now);
        var storage = Storage(o => o.ReadUrlLifetime = TimeSpan.FromMinutes(20), clock);
        await storage.SaveAsync("job-3/0.png", new MemoryStream([7, 8, 9]), Png);

        var byDefault = await storage.GetReadUrlAsync("job-3/0.png");
        var explicitly = await storage.GetReadUrlAsync("job-3/0.png", TimeSpan.FromMinutes(5));

        Assert.Equal("r", Query(byDefault)["sp"]);
        Assert.Equal(now.AddMinutes(20), DateTimeOffset.Parse(Query(byDefault)["se"], CultureInfo.InvariantCulture));
        Assert.Equal(now.AddMinutes(5), DateTimeOffset.Parse(Query(explicitly)["se"], CultureInfo.InvariantCulture));
        using var http = new HttpClient();
        Assert.Equal([7, 8, 9], await http.GetByteArrayAsync(explicitly));
        var unsigned = new UriBuilder(explicitly) { Query = string.Empty }.Uri;
        Assert.False((await http.GetAsync(unsigned)).IsSuccessStatusCode);
    }

    [Fact]
    public async Task GetReadUrlAsync_NoAccountKeyAndNoDelegationKey_SaysHowToGetSignedUrls()
    {
        var client = new BlobServiceClient(new Uri($"http://127.0.0.1:{FreePort.Next()}/devstoreaccount1"), NoRetries());
        var services = new ServiceCollection();
        services.AddMediaGeneration().UseBlobStorage(client, o => o.ContainerName = "outputs");
        await using var provider = services.BuildServiceProvider();

        var e = await Assert.ThrowsAsync<StorageUnavailableException>(() => provider.GetRequiredService<IMediaStorage>().GetReadUrlAsync("job-5/0.png").AsTask());

        Assert.Contains("MediaGen:Blob:PublicBaseUrl", e.Message, StringComparison.Ordinal);
        Assert.Contains("account key", e.Message, StringComparison.Ordinal);
    }

    [ServerFact(BlobTestServer.EndpointVariable)]
    public async Task Interop_NodeClientReadsWhatMediaGenWrote()
    {
        var storage = Storage(o => o.BlockSize = 1024 * 1024);
        var content = RandomNumberGenerator.GetBytes((2 * 1024 * 1024) + 11);
        await storage.SaveAsync("job-6/0.png", new TricklingStream(content, 65_536), Png with { Metadata = Metadata });
        var file = Path.GetTempFileName();
        try
        {
            var properties = JsonDocument.Parse(await BlobTestServer.RunNodeClientAsync("get", _container, "job-6/0.png", file)).RootElement;

            Assert.Equal(content, await File.ReadAllBytesAsync(file));
            Assert.Equal("image/png", properties.GetProperty("contentType").GetString());
            Assert.Equal("job-2", properties.GetProperty("metadata").GetProperty("job_id").GetString());
            Assert.Equal("flux", properties.GetProperty("metadata").GetProperty("model").GetString());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [ServerFact(BlobTestServer.EndpointVariable)]
    public async Task Interop_MediaGenReadsWhatNodeClientWrote()
    {
        var storage = Storage(o => o.Prefix = "media/");
        await storage.GetInfoAsync("job-7/0.webp"); // creates the container
        var content = RandomNumberGenerator.GetBytes(300_000);
        var file = Path.GetTempFileName();
        await File.WriteAllBytesAsync(file, content);
        try
        {
            await BlobTestServer.RunNodeClientAsync("put", _container, "media/job-7/0.webp", file, "image/webp", """{"job_id":"job-7","owner":"owner-2"}""");
        }
        finally
        {
            File.Delete(file);
        }

        var info = await storage.GetInfoAsync("job-7/0.webp");
        Assert.NotNull(info);
        Assert.Equal(content.Length, info.Size);
        Assert.Equal("image/webp", info.ContentType);
        Assert.Equal("job-7", info.Metadata["job-id"]);
        Assert.Equal("owner-2", info.Metadata["owner"]);
        await using var read = await storage.OpenReadAsync("job-7/0.webp");
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        Assert.Equal(content, copy.ToArray());
        Assert.Equal(1, await storage.DeletePrefixAsync("job-7/"));
    }

    [ServerFact(BlobTestServer.EndpointVariable)]
    public async Task FirstUse_WrongAccountKey_SaysToCheckTheKey()
    {
        var wrongKey = Convert.ToBase64String(new byte[64]);
        var connectionString = string.Join(';', BlobTestServer.ConnectionString.Split(';').Select(p => p.StartsWith("AccountKey=", StringComparison.Ordinal) ? "AccountKey=" + wrongKey : p));
        var storage = Storage(o => o.ConnectionString = connectionString);

        var e = await Assert.ThrowsAsync<StorageUnavailableException>(() => storage.GetInfoAsync("job-9/0.png").AsTask());

        // Azure answers AuthenticationFailed, Azurite AuthorizationFailure: either way the message points at the key.
        Assert.Contains("credentials", e.Message, StringComparison.Ordinal);
        Assert.Contains("MediaGen:Blob:ConnectionString", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongKey, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_NeitherConnectionStringNorServiceUri_FailsAtStart()
    {
        var services = new ServiceCollection();
        services.AddMediaGeneration().UseBlobStorage(o => o.ContainerName = "outputs");
        using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<BlobStorageOptions>>().Value);

        Assert.Contains("MediaGen:Blob:ConnectionString", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_BoundFromConfiguration_ReadsEveryKey()
    {
        var section = BlobTestServer.Section(new Dictionary<string, string?>
        {
            ["MediaGen:Blob:ServiceUri"] = "https://account.blob.core.windows.net/",
            ["MediaGen:Blob:ContainerName"] = "outputs",
            ["MediaGen:Blob:Prefix"] = "media/",
            ["MediaGen:Blob:PublicBaseUrl"] = "https://cdn.example.com/",
            ["MediaGen:Blob:ReadUrlLifetime"] = "00:10:00",
            ["MediaGen:Blob:BlockSize"] = "8388608",
            ["MediaGen:Blob:CreateContainerIfMissing"] = "true",
        });
        var services = new ServiceCollection();
        services.AddMediaGeneration().UseBlobStorage(section);
        using var provider = services.BuildServiceProvider();

        var o = provider.GetRequiredService<IOptions<BlobStorageOptions>>().Value;

        Assert.Equal(new Uri("https://account.blob.core.windows.net/"), o.ServiceUri);
        Assert.Equal("outputs", o.ContainerName);
        Assert.Equal("media/", o.Prefix);
        Assert.Equal(new Uri("https://cdn.example.com/"), o.PublicBaseUrl);
        Assert.Equal(TimeSpan.FromMinutes(10), o.ReadUrlLifetime);
        Assert.Equal(8 * 1024 * 1024, o.BlockSize);
        Assert.True(o.CreateContainerIfMissing);
        Assert.NotNull(provider.GetRequiredService<IMediaStorage>());
    }

    [Fact]
    public void Resolve_MalformedConnectionString_SaysWhichSettingIsWrong()
    {
        var services = new ServiceCollection();
        services.AddMediaGeneration().UseBlobStorage(o =>
        {
            o.ConnectionString = "this is not a connection string";
            o.ContainerName = "outputs";
        });
        using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<StorageUnavailableException>(() => provider.GetRequiredService<IMediaStorage>());

        Assert.Contains("MediaGen:Blob:ConnectionString", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("this is not", e.Message, StringComparison.Ordinal);
    }

    private IMediaStorage Storage(Action<BlobStorageOptions>? configure = null, TimeProvider? clock = null)
    {
        var provider = BlobTestServer.BuildProvider(b =>
        {
            if (clock is not null)
            {
                b.Services.AddSingleton(clock);
            }

            b.UseBlobStorage(o =>
            {
                BlobTestServer.Configure(o, _container);
                configure?.Invoke(o);
            });
        });
        _providers.Add(provider);
        return provider.GetRequiredService<IMediaStorage>();
    }

    private static BlobClientOptions NoRetries()
    {
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 0;
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(5);
        return options;
    }

    private static Dictionary<string, string> Query(Uri url) =>
        url.Query.TrimStart('?').Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => Uri.UnescapeDataString(p[1]));
}
