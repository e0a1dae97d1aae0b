using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MediaGen;

/// <summary>Options for MediaGen's S3 storage (<c>UseS3Storage</c>).</summary>
public sealed class S3StorageOptions
{
    /// <summary>The bucket outputs are stored in.</summary>
    /// <value>The default value is <see langword="null"/>; it is required.</value>
    [Required(ErrorMessage = "Set MediaGen:S3:BucketName (S3StorageOptions.BucketName) to the bucket outputs are stored in.")]
    [RegularExpression("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", ErrorMessage = "S3StorageOptions.BucketName must be 3-63 lowercase letters, digits, dots or dashes, starting and ending with a letter or digit.")]
    public string? BucketName { get; set; }

    /// <summary>
    /// A prefix put before every key, such as <c>media/</c>, so MediaGen can share a bucket. A missing trailing
    /// <c>/</c> is added.
    /// </summary>
    /// <value>The default value is the empty string (keys at the bucket's root).</value>
    public string Prefix { get; set; } = string.Empty;

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
    /// A public URL that serves the bucket's root, such as a CDN (<c>https://cdn.example.com/</c>). When set, read URLs
    /// are this URL plus the object's key (with <see cref="Prefix"/>) and are not signed; otherwise they are presigned GET URLs.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public Uri? PublicBaseUrl { get; set; }

    /// <summary>How long a presigned read URL stays valid when the caller does not say.</summary>
    /// <value>The default value is 1 hour.</value>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00", ErrorMessage = "S3StorageOptions.ReadUrlLifetime must be between 1 second and 7 days (the longest a presigned URL can live).")]
    public TimeSpan ReadUrlLifetime { get; set; } = TimeSpan.FromHours(1);

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
