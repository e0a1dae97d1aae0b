namespace MediaGen.Storage.Blob.Tests;

/// <summary>A job run end to end with its outputs on Azurite: stored with the job's metadata, SAS URLs, deleted with the job.</summary>
[RequiresServer(BlobTestServer.EndpointVariable)]
public sealed class BlobPipelineTests : StoragePipelineTests, IAsyncLifetime
{
    private readonly string _container = BlobTestServer.NewContainerName();

    protected override string SignatureQueryPart => "sig=";

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(BlobTestServer.EndpointVariable)))
        {
            await BlobTestServer.CreateAdminClient().GetBlobContainerClient(_container).DeleteIfExistsAsync();
        }
    }

    protected override void UseStorage(IMediaGenerationBuilder builder) => builder.UseBlobStorage(o => BlobTestServer.Configure(o, _container, prefix: "media/"));
}
