namespace MediaGen.Storage.Blob.Tests;

/// <summary>The storage compliance suites on Azurite: a fresh container per test, created on first use, blobs under a prefix.</summary>
[RequiresServer(BlobTestServer.EndpointVariable)]
public sealed class BlobMediaStorageComplianceTests : ObjectStoreComplianceTests
{
    private readonly string _container = BlobTestServer.NewContainerName();
    private readonly string _missingContainer = BlobTestServer.NewContainerName();
    private ServiceProvider? _provider;

    protected override IReadOnlyList<string> UnreachableMessageParts { get; } = ["Cannot reach the Azure Blob endpoint"];

    protected override ValueTask<IMediaStorage> CreateStorageAsync()
    {
        _provider = BlobTestServer.BuildProvider(b => b.UseBlobStorage(o => BlobTestServer.Configure(o, _container, prefix: "media/")));
        return ValueTask.FromResult(_provider.GetRequiredService<IMediaStorage>());
    }

    protected override (IMediaStorage Storage, IAsyncDisposable Owner) CreatePublicStorage(Uri publicBaseUrl, string prefix)
    {
        var provider = BlobTestServer.BuildProvider(b => b.UseBlobStorage(o =>
        {
            o.ServiceUri = new Uri("http://127.0.0.1:1/devstoreaccount1");
            o.ContainerName = "outputs";
            o.Prefix = prefix;
            o.PublicBaseUrl = publicBaseUrl;
        }));
        return (provider.GetRequiredService<IMediaStorage>(), provider);
    }

    protected override (IMediaStorage Storage, IAsyncDisposable Owner, string Endpoint) CreateUnreachableStorage()
    {
        var endpoint = $"127.0.0.1:{FreePort.Next()}";
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 0;
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(5);
        var container = new BlobContainerClient(new Uri($"http://{endpoint}/devstoreaccount1/outputs"), options);
        var provider = BlobTestServer.BuildProvider(b => b.UseBlobStorage(container));
        return (provider.GetRequiredService<IMediaStorage>(), provider, endpoint);
    }

    protected override (IMediaStorage Storage, IAsyncDisposable Owner, IReadOnlyList<string> MessageParts) CreateStorageWithoutContainer()
    {
        var provider = BlobTestServer.BuildProvider(b => b.UseBlobStorage(o =>
        {
            BlobTestServer.Configure(o, _missingContainer);
            o.CreateContainerIfMissing = false;
        }));
        return (provider.GetRequiredService<IMediaStorage>(), provider, [$"'{_missingContainer}'", "CreateContainerIfMissing"]);
    }

    protected override async ValueTask<CallerOwnedStorage> CreateStorageOnCallerClientAsync()
    {
        var container = BlobTestServer.CreateAdminClient().GetBlobContainerClient(_container);
        await container.CreateIfNotExistsAsync();
        var provider = BlobTestServer.BuildProvider(b => b.UseBlobStorage(container));
        return new CallerOwnedStorage(
            provider.GetRequiredService<IMediaStorage>(),
            provider.DisposeAsync,
            async name => (await container.GetBlobClient(name).GetPropertiesAsync()).Value.ContentLength);
    }

    protected override async ValueTask CleanUpAsync(IMediaStorage storage)
    {
        await base.CleanUpAsync(storage);
        await BlobTestServer.CreateAdminClient().GetBlobContainerClient(_container).DeleteIfExistsAsync();
        if (_provider is not null)
        {
            await _provider.DisposeAsync();
        }
    }
}
