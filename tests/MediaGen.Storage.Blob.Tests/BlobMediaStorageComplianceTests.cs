using MediaGen.Compliance;
using Microsoft.Extensions.DependencyInjection;

namespace MediaGen.Storage.Blob.Tests;

/// <summary>The storage compliance suite on Azurite: a fresh container per test, created on first use, blobs under a prefix.</summary>
[RequiresServer(BlobTestServer.EndpointVariable)]
public sealed class BlobMediaStorageComplianceTests : MediaStorageComplianceTests
{
    private readonly string _container = BlobTestServer.NewContainerName();
    private ServiceProvider? _provider;

    protected override ValueTask<IMediaStorage> CreateStorageAsync()
    {
        _provider = BlobTestServer.BuildProvider(b => b.UseBlobStorage(o => BlobTestServer.Configure(o, _container, prefix: "media/")));
        return ValueTask.FromResult(_provider.GetRequiredService<IMediaStorage>());
    }

    protected override async ValueTask CleanUpAsync(IMediaStorage storage)
    {
        await BlobTestServer.CreateAdminClient().GetBlobContainerClient(_container).DeleteIfExistsAsync();
        if (_provider is not null)
        {
            await _provider.DisposeAsync();
        }
    }
}
