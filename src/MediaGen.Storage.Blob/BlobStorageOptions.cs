using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MediaGen;

/// <summary>Options for MediaGen's Azure Blob storage (<c>UseBlobStorage</c>).</summary>
public sealed class BlobStorageOptions : ObjectStorageOptions
{
    internal static readonly ObjectStorageProfile BlobProfile = new()
    {
        ServiceName = "Azure Blob",
        OptionsName = nameof(BlobStorageOptions),
        ConfigurationSection = "MediaGen:Blob",
        ContainerKind = "container",
        ObjectKind = "blobs",
        EndpointSettings = "MediaGen:Blob:ConnectionString or ServiceUri",
        SignedUrlName = "SAS read URL",
    };

    /// <summary>
    /// The storage account's connection string, such as
    /// <c>DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;EndpointSuffix=core.windows.net</c>. With an
    /// account key, read URLs are SAS URLs signed with it. Set this or <see cref="ServiceUri"/>.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The Blob service endpoint, such as <c>https://account.blob.core.windows.net/</c>, optionally with an account SAS
    /// token in its query. For Microsoft Entra ID, pass a <c>BlobServiceClient</c> with a token credential instead.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public Uri? ServiceUri { get; set; }

    /// <summary>The container outputs are stored in.</summary>
    /// <value>The default value is <see langword="null"/>; it is required unless a container client is passed.</value>
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$", ErrorMessage = "BlobStorageOptions.ContainerName (MediaGen:Blob:ContainerName) must be 3-63 lowercase letters, digits or single dashes, starting and ending with a letter or digit.")]
    public string? ContainerName { get; set; }

    /// <summary>
    /// The size of each staged block, and of the one buffer a save holds in memory. Content shorter than this is sent in
    /// a single request. A blob has at most 50,000 blocks, so this also bounds the largest output.
    /// </summary>
    /// <value>The default value is 4 MiB.</value>
    [Range(64 * 1024, 256 * 1024 * 1024, ErrorMessage = "BlobStorageOptions.BlockSize (MediaGen:Blob:BlockSize) must be between 64 KiB and 256 MiB.")]
    public int BlockSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>Whether to create the container (private) on first use when it does not exist.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool CreateContainerIfMissing { get; set; }

    /// <inheritdoc />
    protected override int ChunkSize => BlockSize;

    /// <inheritdoc />
    protected override ObjectStorageProfile Profile => BlobProfile;
}

/// <summary>Validates <see cref="BlobStorageOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class BlobStorageOptionsValidator : IValidateOptions<BlobStorageOptions>
{
}
