namespace MediaGen.Storage.S3.Tests;

/// <summary>The object-store registration checks for <c>UseS3Storage</c>.</summary>
public sealed class S3StorageRegistrationTests : ObjectStoreRegistrationTests<S3StorageOptions>
{
    protected override string ProviderName => "S3";

    protected override string Section => "MediaGen:S3";

    protected override string ContainerKey => "BucketName";

    protected override IReadOnlyDictionary<string, string> ValidKeys { get; } = new Dictionary<string, string> { ["BucketName"] = "outputs" };

    protected override IMediaGenerationBuilder Use(IMediaGenerationBuilder builder, Action<S3StorageOptions> configure) => builder.UseS3Storage(configure);

    protected override IMediaGenerationBuilder Use(IMediaGenerationBuilder builder, IConfigurationSection section) => builder.UseS3Storage(section);

    protected override void ConfigureAllButContainer(S3StorageOptions options) => options.ServiceUrl = new Uri("http://127.0.0.1:1");

    protected override void SetContainer(S3StorageOptions options, string name) => options.BucketName = name;
}
