using System.Collections.ObjectModel;

namespace MediaGen;

/// <summary>
/// Stores job outputs under keys such as <c>{jobId}/{index}.{ext}</c>. Saving the same key again overwrites it, so
/// a retried job never leaves duplicates. Content is streamed, never buffered whole.
/// </summary>
public interface IMediaStorage
{
    /// <summary>Streams <paramref name="content"/> to <paramref name="key"/>, replacing what was there.</summary>
    /// <param name="key">The key: relative, <c>/</c>-separated, without <c>.</c> or <c>..</c> segments.</param>
    /// <param name="content">The content, read to its end; its length need not be known.</param>
    /// <param name="options">Content type and metadata.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>What was stored.</returns>
    /// <exception cref="InvalidStorageKeyException">The key is malformed.</exception>
    /// <exception cref="StorageUnavailableException">The storage is misconfigured or unreachable.</exception>
    ValueTask<StoredObject> SaveAsync(string key, Stream content, StorageWriteOptions options, CancellationToken cancellationToken = default);

    /// <summary>Opens a stored object for reading. The caller disposes the stream.</summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The content stream.</returns>
    /// <exception cref="StorageObjectNotFoundException">No object has the key.</exception>
    ValueTask<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Gets a stored object's properties.</summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The properties, or null when no object has the key.</returns>
    ValueTask<StoredObject?> GetInfoAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Deletes one object.</summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns><see langword="true"/> when it existed.</returns>
    ValueTask<bool> DeleteAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Deletes every object whose key starts with <paramref name="prefix"/>, such as all of a job's outputs (<c>{jobId}/</c>).</summary>
    /// <param name="prefix">The prefix; must end with <c>/</c>.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>How many objects were deleted.</returns>
    ValueTask<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>A URL a client can read the object from: public, presigned or SAS, depending on the storage and its options.</summary>
    /// <param name="key">The key.</param>
    /// <param name="lifetime">How long a signed URL stays valid; null for the storage's default.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The URL; relative when the storage is served by the host itself.</returns>
    ValueTask<Uri> GetReadUrlAsync(string key, TimeSpan? lifetime = null, CancellationToken cancellationToken = default);
}

/// <summary>Content type and metadata for <see cref="IMediaStorage.SaveAsync"/>.</summary>
public sealed record StorageWriteOptions
{
    /// <summary>The MIME type.</summary>
    public required string ContentType { get; init; }

    /// <summary>Metadata stored with the object, such as <c>job-id</c>, <c>owner</c> and <c>model</c>. Keys are lowercase ASCII letters, digits and dashes.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>A stored object's properties.</summary>
public sealed record StoredObject
{
    /// <summary>The key.</summary>
    public required string Key { get; init; }

    /// <summary>The size in bytes.</summary>
    public required long Size { get; init; }

    /// <summary>The MIME type.</summary>
    public required string ContentType { get; init; }

    /// <summary>The metadata stored with the object.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = ReadOnlyDictionary<string, string>.Empty;
}
