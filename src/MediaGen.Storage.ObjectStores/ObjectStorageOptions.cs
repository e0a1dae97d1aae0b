namespace MediaGen;

/// <summary>The options every object-store storage shares: where MediaGen's objects live in the bucket or container, and how read URLs are made.</summary>
public abstract class ObjectStorageOptions
{
    /// <summary>
    /// A prefix put before every object name, such as <c>media/</c>, so MediaGen can share a bucket or container. A
    /// missing trailing <c>/</c> is added.
    /// </summary>
    /// <value>The default value is the empty string (objects at the root).</value>
    public string Prefix { get; set; } = string.Empty;

    /// <summary>
    /// A public URL that serves the bucket's or container's root, such as a CDN (<c>https://cdn.example.com/</c>). When
    /// set, read URLs are this URL plus the object's name (with <see cref="Prefix"/>) and are not signed; otherwise they
    /// are signed URLs (presigned GET, SAS).
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public Uri? PublicBaseUrl { get; set; }

    /// <summary>How long a signed read URL stays valid when the caller does not say (between 1 second and 7 days).</summary>
    /// <value>The default value is 1 hour.</value>
    public TimeSpan ReadUrlLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The size of each part or block of a streamed save, and of the one buffer a save holds in memory.</summary>
    /// <value>The storage's part or block size.</value>
    protected internal abstract int ChunkSize { get; }

    /// <summary>Who the storage is, in the words its messages and configuration keys use; not bound from configuration.</summary>
    /// <value>The storage's profile.</value>
    protected internal abstract ObjectStorageProfile Profile { get; }
}

/// <summary>How an object-store storage names itself and its settings in messages.</summary>
public sealed record ObjectStorageProfile
{
    /// <summary>The service's name in messages, for example <c>S3</c> or <c>Azure Blob</c>.</summary>
    public required string ServiceName { get; init; }

    /// <summary>The options class's name, for example <c>S3StorageOptions</c>.</summary>
    public required string OptionsName { get; init; }

    /// <summary>The configuration section, for example <c>MediaGen:S3</c>.</summary>
    public required string ConfigurationSection { get; init; }

    /// <summary>What holds the objects, for example <c>bucket</c> or <c>container</c>.</summary>
    public required string ContainerKind { get; init; }

    /// <summary>What the objects are called, for example <c>objects</c> or <c>blobs</c>.</summary>
    public required string ObjectKind { get; init; }

    /// <summary>The settings that say where the service is, for example <c>S3StorageOptions.ServiceUrl (MediaGen:S3:ServiceUrl) or Region</c>.</summary>
    public required string EndpointSettings { get; init; }

    /// <summary>What a signed read URL is called, for example <c>presigned S3 URL</c> or <c>SAS read URL</c>.</summary>
    public required string SignedUrlName { get; init; }
}
