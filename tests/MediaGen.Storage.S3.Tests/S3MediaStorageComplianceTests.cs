using MediaGen.Compliance;
using Microsoft.Extensions.DependencyInjection;

namespace MediaGen.Storage.S3.Tests;

/// <summary>The storage compliance suite on radosgw: a fresh bucket per test, created on first use, keys under a prefix.</summary>
[RequiresServer(S3TestServer.EndpointVariable)]
public sealed class S3MediaStorageComplianceTests : MediaStorageComplianceTests
{
    private readonly string _bucket = S3TestServer.NewBucketName();
    private ServiceProvider? _provider;

    protected override ValueTask<IMediaStorage> CreateStorageAsync()
    {
        _provider = S3TestServer.BuildProvider(b => b.UseS3Storage(o => S3TestServer.Configure(o, _bucket, prefix: "media/")));
        return ValueTask.FromResult(_provider.GetRequiredService<IMediaStorage>());
    }

    protected override async ValueTask CleanUpAsync(IMediaStorage storage)
    {
        using (var admin = S3TestServer.CreateAdminClient())
        {
            await S3TestServer.DeleteBucketAsync(admin, _bucket);
        }

        if (_provider is not null)
        {
            await _provider.DisposeAsync();
        }
    }
}
