namespace MediaGen.Storage.S3.Tests;

/// <summary>The storage compliance suites on radosgw: a fresh bucket per test, created on first use, keys under a prefix.</summary>
[RequiresServer(S3TestServer.EndpointVariable)]
public sealed class S3MediaStorageComplianceTests : ObjectStoreComplianceTests
{
    private readonly string _bucket = S3TestServer.NewBucketName();
    private readonly string _missingBucket = S3TestServer.NewBucketName();
    private ServiceProvider? _provider;

    protected override IReadOnlyList<string> UnreachableMessageParts { get; } = ["Cannot reach the S3 endpoint", "MediaGen:S3:ServiceUrl"];

    protected override ValueTask<IMediaStorage> CreateStorageAsync()
    {
        _provider = S3TestServer.BuildProvider(b => b.UseS3Storage(o => S3TestServer.Configure(o, _bucket, prefix: "media/")));
        return ValueTask.FromResult(_provider.GetRequiredService<IMediaStorage>());
    }

    protected override (IMediaStorage Storage, IAsyncDisposable Owner) CreatePublicStorage(Uri publicBaseUrl, string prefix)
    {
        var provider = S3TestServer.BuildProvider(b => b.UseS3Storage(o =>
        {
            o.BucketName = "outputs";
            o.Prefix = prefix;
            o.ServiceUrl = new Uri("http://127.0.0.1:1");
            o.PublicBaseUrl = publicBaseUrl;
        }));
        return (provider.GetRequiredService<IMediaStorage>(), provider);
    }

    protected override (IMediaStorage Storage, IAsyncDisposable Owner, string Endpoint) CreateUnreachableStorage()
    {
        var endpoint = $"127.0.0.1:{FreePort.Next()}";
        var client = new AmazonS3Client("key", "secret", new AmazonS3Config { ServiceURL = $"http://{endpoint}", ForcePathStyle = true, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 });
        var provider = S3TestServer.BuildProvider(b => b.UseS3Storage(client, o => o.BucketName = "outputs"));
        return (provider.GetRequiredService<IMediaStorage>(), new Owned(provider, client), endpoint);
    }

    protected override (IMediaStorage Storage, IAsyncDisposable Owner, IReadOnlyList<string> MessageParts) CreateStorageWithoutContainer()
    {
        var provider = S3TestServer.BuildProvider(b => b.UseS3Storage(o =>
        {
            S3TestServer.Configure(o, _missingBucket);
            o.CreateBucketIfMissing = false;
        }));
        return (provider.GetRequiredService<IMediaStorage>(), provider, [$"'{_missingBucket}' at {S3TestServer.Endpoint}", "CreateBucketIfMissing"]);
    }

    protected override ValueTask<CallerOwnedStorage> CreateStorageOnCallerClientAsync()
    {
        var client = S3TestServer.CreateAdminClient();
        var provider = S3TestServer.BuildProvider(b => b.UseS3Storage(client, o =>
        {
            o.BucketName = _bucket;
            o.CreateBucketIfMissing = true;
        }));
        _owned.Add(client);
        return ValueTask.FromResult(new CallerOwnedStorage(
            provider.GetRequiredService<IMediaStorage>(),
            provider.DisposeAsync,
            async name => (await client.GetObjectMetadataAsync(_bucket, name)).ContentLength));
    }

    protected override async Task AssertNoUnfinishedUploadsAsync()
    {
        using var admin = S3TestServer.CreateAdminClient();
        var uploads = await admin.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = _bucket });
        Assert.Empty(uploads.MultipartUploads ?? []);
    }

    protected override async ValueTask CleanUpAsync(IMediaStorage storage)
    {
        await base.CleanUpAsync(storage);
        using (var admin = S3TestServer.CreateAdminClient())
        {
            await S3TestServer.DeleteBucketAsync(admin, _bucket);
        }

        foreach (var client in _owned)
        {
            client.Dispose();
        }

        if (_provider is not null)
        {
            await _provider.DisposeAsync();
        }
    }

    private readonly List<IDisposable> _owned = [];

    private sealed class Owned(ServiceProvider provider, IDisposable client) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await provider.DisposeAsync();
            client.Dispose();
        }
    }
}
