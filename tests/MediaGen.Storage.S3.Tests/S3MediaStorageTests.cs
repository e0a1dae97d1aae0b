using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace MediaGen.Storage.S3.Tests;

/// <summary>What the S3 storage does beyond the compliance suite: uploads, URLs, interop, configuration errors.</summary>
[Collection(S3SdkClockCollection.Name)]
public sealed class S3MediaStorageTests : IAsyncLifetime
{
    private readonly string _bucket = S3TestServer.NewBucketName();
    private readonly List<ServiceProvider> _providers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(S3TestServer.EndpointVariable)))
        {
            using var admin = S3TestServer.CreateAdminClient();
            await S3TestServer.DeleteBucketAsync(admin, _bucket);
        }
    }

    [ServerFact(S3TestServer.EndpointVariable)]
    public async Task SaveAsync_WithPrefix_StoresUnderThePrefixWithHeadersAndMetadata()
    {
        var storage = Storage(o => o.Prefix = "/tenants/a");
        await storage.SaveAsync("job-2/0.png", new MemoryStream([1, 2, 3]), Png with { Metadata = Metadata });

        using var admin = S3TestServer.CreateAdminClient();
        var head = await admin.GetObjectMetadataAsync(_bucket, "tenants/a/job-2/0.png");
        Assert.Equal("image/png", head.Headers.ContentType);
        Assert.Equal("job-2", head.Metadata["job-id"]);
        Assert.Equal("owner-1", head.Metadata["owner"]);
        Assert.Equal("flux", head.Metadata["model"]);
    }

    [ServerFact(S3TestServer.EndpointVariable)]
    public async Task GetReadUrlAsync_Presigned_CarriesTheLifetimeAndServesTheObject()
    {
        var storage = Storage(o => o.ReadUrlLifetime = TimeSpan.FromMinutes(20));
        await storage.SaveAsync("job-3/0.png", new MemoryStream([7, 8, 9]), Png);

        var before = TimeProvider.System.GetUtcNow();
        var byDefault = await storage.GetReadUrlAsync("job-3/0.png");
        var explicitly = await storage.GetReadUrlAsync("job-3/0.png", TimeSpan.FromMinutes(5));
        var after = TimeProvider.System.GetUtcNow();

        Assert.Equal("http", byDefault.Scheme);
        AssertEndsAt(byDefault, before + TimeSpan.FromMinutes(20), after + TimeSpan.FromMinutes(20));
        AssertEndsAt(explicitly, before + TimeSpan.FromMinutes(5), after + TimeSpan.FromMinutes(5));
        using var http = new HttpClient();
        Assert.Equal([7, 8, 9], await http.GetByteArrayAsync(explicitly));
        var unsigned = new UriBuilder(explicitly) { Query = string.Empty }.Uri;
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync(unsigned)).StatusCode);
    }

    [ServerFact(S3TestServer.EndpointVariable)]
    public async Task GetReadUrlAsync_SdkClockCorrectedBehind_StillEndsAtTheInstantAskedFor()
    {
        // The SDK signs on its own clock, corrected by the skew it measures from each response's Date header (whole
        // seconds, read when the response arrives), so on a busy machine it runs a second or two behind: the URL is then
        // signed that much earlier and for that much longer. Forced to 3 s behind here, the URL must still end on time.
        var storage = Storage();
        var correction = Amazon.AWSConfigs.ManualClockCorrection;
        Amazon.AWSConfigs.ManualClockCorrection = TimeSpan.FromSeconds(-3);
        try
        {
            var before = TimeProvider.System.GetUtcNow();
            var url = await storage.GetReadUrlAsync("job-3/0.png", TimeSpan.FromMinutes(5));
            var after = TimeProvider.System.GetUtcNow();

            Assert.InRange(int.Parse(QueryValue(url, "X-Amz-Expires"), System.Globalization.CultureInfo.InvariantCulture), 302, 304);
            AssertEndsAt(url, before + TimeSpan.FromMinutes(5), after + TimeSpan.FromMinutes(5));
        }
        finally
        {
            Amazon.AWSConfigs.ManualClockCorrection = correction;
        }
    }

    [ServerFact(S3TestServer.EndpointVariable)]
    public async Task Interop_AwsCliReadsWhatMediaGenWrote()
    {
        var storage = Storage(o => o.Prefix = "media");
        var content = RandomNumberGenerator.GetBytes(6 * 1024 * 1024 + 7);
        await storage.SaveAsync("job-5/0.png", new TricklingStream(content, 65_536), Png with { Metadata = Metadata });

        var read = await S3TestServer.RunAwsCliAsync("s3", "cp", $"s3://{_bucket}/media/job-5/0.png", "-");
        var head = JsonDocument.Parse(await S3TestServer.RunAwsCliAsync("s3api", "head-object", "--bucket", _bucket, "--key", "media/job-5/0.png")).RootElement;

        Assert.Equal(content, read);
        Assert.Equal("image/png", head.GetProperty("ContentType").GetString());
        Assert.Equal("job-2", head.GetProperty("Metadata").GetProperty("job-id").GetString());
        Assert.Equal("owner-1", head.GetProperty("Metadata").GetProperty("owner").GetString());
    }

    [ServerFact(S3TestServer.EndpointVariable)]
    public async Task Interop_MediaGenReadsWhatAwsCliWrote()
    {
        var storage = Storage(o => o.Prefix = "media");
        await storage.GetInfoAsync("job-6/0.png"); // creates the bucket
        var file = Path.GetTempFileName();
        var content = RandomNumberGenerator.GetBytes(200_000);
        await File.WriteAllBytesAsync(file, content);
        try
        {
            await S3TestServer.RunAwsCliAsync(
                "s3", "cp", file, $"s3://{_bucket}/media/job-6/0.webp", "--content-type", "image/webp", "--metadata", "job-id=job-6,owner=owner-2");
        }
        finally
        {
            File.Delete(file);
        }

        var info = await storage.GetInfoAsync("job-6/0.webp");
        Assert.NotNull(info);
        Assert.Equal(content.Length, info.Size);
        Assert.Equal("image/webp", info.ContentType);
        Assert.Equal("job-6", info.Metadata["job-id"]);
        Assert.Equal("owner-2", info.Metadata["owner"]);
        await using var stream = await storage.OpenReadAsync("job-6/0.webp");
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.Equal(content, copy.ToArray());
        Assert.Equal(1, await storage.DeletePrefixAsync("job-6/"));
    }

    [ServerFact(S3TestServer.EndpointVariable)]
    public async Task FirstUse_UnknownAccessKey_SaysToCheckTheAccessKey()
    {
        var storage = Storage(o => o.AccessKey = "no-such-key");

        var e = await Assert.ThrowsAsync<StorageUnavailableException>(() => storage.GetInfoAsync("job-8/0.png").AsTask());

        Assert.Contains("MediaGen:S3:AccessKey", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(S3TestServer.SecretKey, e.Message, StringComparison.Ordinal);
    }

    [ServerFact(S3TestServer.EndpointVariable)]
    public async Task FirstUse_WrongSecretKey_SaysToCheckTheSecretKey()
    {
        var storage = Storage(o => o.SecretKey = "not-the-secret");

        var e = await Assert.ThrowsAsync<StorageUnavailableException>(() => storage.OpenReadAsync("job-9/0.png").AsTask());

        Assert.Contains("MediaGen:S3:SecretKey", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-secret", e.Message, StringComparison.Ordinal);
    }

    [ServerFact(S3TestServer.EndpointVariable)]
    public async Task SaveAsync_ServiceRejectingDefaultChecksums_SaysToSetWhenRequired()
    {
        var storage = Storage(o => o.RequestChecksumCalculation = S3ChecksumCalculation.WhenSupported);

        var e = await Assert.ThrowsAsync<StorageUnavailableException>(() => storage.SaveAsync("job-12/0.png", new MemoryStream([1, 2, 3]), Png).AsTask());

        Assert.Contains("RequestChecksumCalculation", e.Message, StringComparison.Ordinal);
        Assert.Contains("WhenRequired", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_AccessKeyWithoutSecret_FailsAtStart()
    {
        var services = new ServiceCollection();
        services.AddMediaGeneration().UseS3Storage(o =>
        {
            o.BucketName = "outputs";
            o.AccessKey = "key";
        });
        using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<S3StorageOptions>>().Value);

        Assert.Contains("SecretKey", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_BoundFromConfiguration_ReadsEveryKey()
    {
        var section = S3TestServer.Section(new Dictionary<string, string?>
        {
            ["MediaGen:S3:BucketName"] = "outputs",
            ["MediaGen:S3:Prefix"] = "media/",
            ["MediaGen:S3:ServiceUrl"] = "http://127.0.0.1:7480",
            ["MediaGen:S3:Region"] = "eu-west-1",
            ["MediaGen:S3:AccessKey"] = "key",
            ["MediaGen:S3:SecretKey"] = "secret",
            ["MediaGen:S3:ForcePathStyle"] = "true",
            ["MediaGen:S3:RequestChecksumCalculation"] = "WhenRequired",
            ["MediaGen:S3:PublicBaseUrl"] = "https://cdn.example.com/",
            ["MediaGen:S3:ReadUrlLifetime"] = "00:10:00",
            ["MediaGen:S3:PartSize"] = "16777216",
            ["MediaGen:S3:CreateBucketIfMissing"] = "true",
        });
        var services = new ServiceCollection();
        services.AddMediaGeneration().UseS3Storage(section);
        using var provider = services.BuildServiceProvider();

        var o = provider.GetRequiredService<IOptions<S3StorageOptions>>().Value;

        Assert.Equal("outputs", o.BucketName);
        Assert.Equal("media/", o.Prefix);
        Assert.Equal(new Uri("http://127.0.0.1:7480"), o.ServiceUrl);
        Assert.Equal("eu-west-1", o.Region);
        Assert.True(o.ForcePathStyle);
        Assert.Equal(S3ChecksumCalculation.WhenRequired, o.RequestChecksumCalculation);
        Assert.Equal(new Uri("https://cdn.example.com/"), o.PublicBaseUrl);
        Assert.Equal(TimeSpan.FromMinutes(10), o.ReadUrlLifetime);
        Assert.Equal(16 * 1024 * 1024, o.PartSize);
        Assert.True(o.CreateBucketIfMissing);
        Assert.IsAssignableFrom<IDisposable>(provider.GetRequiredService<IMediaStorage>());
    }

    private static readonly StorageWriteOptions Png = new() { ContentType = "image/png" };

    private static readonly Dictionary<string, string> Metadata = new() { ["job-id"] = "job-2", ["owner"] = "owner-1", ["model"] = "flux" };

    private IMediaStorage Storage(Action<S3StorageOptions>? configure = null)
    {
        var provider = S3TestServer.BuildProvider(b => b.UseS3Storage(o =>
        {
            S3TestServer.Configure(o, _bucket);
            configure?.Invoke(o);
        }));
        _providers.Add(provider);
        return provider.GetRequiredService<IMediaStorage>();
    }

    /// <summary>
    /// Asserts that <paramref name="url"/> ends (X-Amz-Date, whole seconds, plus X-Amz-Expires, rounded) at an instant the
    /// storage asked for between <paramref name="earliest"/> and <paramref name="latest"/>: up to 1.5 s earlier (the
    /// signing second cut off, the seconds rounded) or 0.5 s later (rounded up). The SDK reads its corrected clock twice
    /// for a URL, once for each figure; this holds while no response in between changes its correction, which is why the
    /// class runs alone (<see cref="S3SdkClockCollection"/>).
    /// </summary>
    private static void AssertEndsAt(Uri url, DateTimeOffset earliest, DateTimeOffset latest)
    {
        var signedAt = DateTimeOffset.ParseExact(QueryValue(url, "X-Amz-Date"), "yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal);
        var endsAt = signedAt.AddSeconds(int.Parse(QueryValue(url, "X-Amz-Expires"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(endsAt, earliest - TimeSpan.FromSeconds(1.5), latest + TimeSpan.FromSeconds(0.5));
    }

    private static string QueryValue(Uri url, string name) =>
        url.Query.TrimStart('?').Split('&').Single(p => p.StartsWith(name + "=", StringComparison.Ordinal))[(name.Length + 1)..];
}

/// <summary>
/// The tests that read or set the AWS SDK's process-wide clock correction run alone: the SDK updates it from every
/// response, so another class's requests would move it between the two clock reads of one presigned URL, and the forced
/// correction of one test must not reach other classes' requests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class S3SdkClockCollection
{
    public const string Name = "AWS SDK clock correction";
}
