namespace MediaGen.Storage.S3.Tests;

/// <summary>A job run end to end with its outputs on radosgw: stored with the job's metadata, presigned URLs, deleted with the job.</summary>
[RequiresServer(S3TestServer.EndpointVariable)]
public sealed class S3PipelineTests : StoragePipelineTests, IAsyncLifetime
{
    private readonly string _bucket = S3TestServer.NewBucketName();

    protected override string SignatureQueryPart => "X-Amz-Signature=";

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(S3TestServer.EndpointVariable)))
        {
            using var admin = S3TestServer.CreateAdminClient();
            await S3TestServer.DeleteBucketAsync(admin, _bucket);
        }
    }

    protected override void UseStorage(IMediaGenerationBuilder builder) => builder.UseS3Storage(o => S3TestServer.Configure(o, _bucket, prefix: "media/"));
}
