namespace MediaGen.Storage.Blob.Tests;

/// <summary>The object-store registration checks for <c>UseBlobStorage</c>.</summary>
public sealed class BlobStorageRegistrationTests : ObjectStoreRegistrationTests<BlobStorageOptions>
{
    protected override string ProviderName => "Blob";

    protected override string Section => "MediaGen:Blob";

    protected override string ContainerKey => "ContainerName";

    protected override IReadOnlyDictionary<string, string> ValidKeys { get; } = new Dictionary<string, string> { ["ConnectionString"] = "UseDevelopmentStorage=true", ["ContainerName"] = "outputs" };

    protected override IMediaGenerationBuilder Use(IMediaGenerationBuilder builder, Action<BlobStorageOptions> configure) => builder.UseBlobStorage(configure);

    protected override IMediaGenerationBuilder Use(IMediaGenerationBuilder builder, IConfigurationSection section) => builder.UseBlobStorage(section);

    protected override void ConfigureAllButContainer(BlobStorageOptions options) => options.ServiceUri = new Uri("http://127.0.0.1:1/devstoreaccount1");

    protected override void SetContainer(BlobStorageOptions options, string name) => options.ContainerName = name;
}
