using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MediaGen;

/// <summary>Options for MediaGen's S3 storage (<c>UseS3Storage</c>).</summary>
public sealed class S3StorageOptions : ObjectStorageOptions
{
    internal static readonly ObjectStorageProfile S3Profile = new()
    {
        ServiceName = "S3",
        OptionsName = nameof(S3StorageOptions),
        ConfigurationSection = "MediaGen:S3",
        ContainerKind = "bucket",
        ObjectKind = "objects",
        EndpointSettings = "S3StorageOptions.ServiceUrl (MediaGen:S3:ServiceUrl) or Region",
        SignedUrlName = "presigned S3 URL",
    };

    /// <summary>The bucket outputs are stored in.</summary>
    /// <value>The default value is <see langword="null"/>; it is required.</value>
    [Required(ErrorMessage = "Set MediaGen:S3:BucketName (S3StorageOptions.BucketName) to the bucket outputs are stored in.")]
    [RegularExpression("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", ErrorMessage = "S3StorageOptions.BucketName must be 3-63 lowercase letters, digits, dots or dashes, starting and ending with a letter or digit.")]
    public string? BucketName { get; set; }

    /// <summary>
    /// The endpoint of an S3-compatible service, such as <c>http://127.0.0.1:7480</c> for Ceph radosgw or MinIO; null
    /// for Amazon S3 in <see cref="Region"/>.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public Uri? ServiceUrl { get; set; }

    /// <summary>The AWS region, such as <c>eu-west-1</c>; with <see cref="ServiceUrl"/>, the region requests are signed for.</summary>
    /// <value>The default value is <see langword="null"/> (the SDK's default region; <c>us-east-1</c> with a service URL).</value>
    public string? Region { get; set; }

    /// <summary>The access key id. Set it together with <see cref="SecretKey"/>, or leave both unset to use the SDK's default credential chain (environment, profile, instance role).</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? AccessKey { get; set; }

    /// <summary>The secret access key that goes with <see cref="AccessKey"/>.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? SecretKey { get; set; }

    /// <summary>Whether to address the bucket in the path (<c>http://host/bucket/key</c>) instead of the host name; most S3-compatible services need it.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool ForcePathStyle { get; set; }

    /// <summary>
    /// When uploads carry a checksum. Ceph radosgw and other older S3-compatible services reject the checksums the SDK
    /// sends by default (400 XAmzContentSHA256Mismatch); set <see cref="S3ChecksumCalculation.WhenRequired"/> for them.
    /// </summary>
    /// <value>The default value is <see cref="S3ChecksumCalculation.WhenSupported"/>.</value>
    public S3ChecksumCalculation RequestChecksumCalculation { get; set; } = S3ChecksumCalculation.WhenSupported;

    /// <summary>
    /// The size of each part of a multipart upload, and of the one buffer a save holds in memory. Content shorter than
    /// this is sent in a single request. S3 allows at most 10,000 parts, so this also bounds the largest object
    /// (10,000 × the part size).
    /// </summary>
    /// <value>The default value is 8 MiB.</value>
    [Range(5 * 1024 * 1024, 1024 * 1024 * 1024, ErrorMessage = "S3StorageOptions.PartSize must be between 5 MiB (the S3 minimum) and 1 GiB.")]
    public int PartSize { get; set; } = 8 * 1024 * 1024;

    /// <summary>Whether to create the bucket on first use when it does not exist. Production buckets are usually created with their policies elsewhere.</summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool CreateBucketIfMissing { get; set; }

    /// <inheritdoc />
    protected override int ChunkSize => PartSize;

    /// <inheritdoc />
    protected override ObjectStorageProfile Profile => S3Profile;
}

/// <summary>When the S3 client adds checksums to uploads.</summary>
public enum S3ChecksumCalculation
{
    /// <summary>On every operation that supports one (the SDK's default; Amazon S3).</summary>
    WhenSupported = 0,

    /// <summary>Only on operations that require one (Ceph radosgw and older S3-compatible services).</summary>
    WhenRequired = 1,
}

/// <summary>Validates <see cref="S3StorageOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class S3StorageOptionsValidator : IValidateOptions<S3StorageOptions>
{
}
