using System.Buffers;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;
using Microsoft.Extensions.Logging;

namespace MediaGen.Storage.Blob.Internal;

/// <summary>
/// <see cref="IMediaStorage"/> on an Azure Blob container. A save holds at most one block in memory: content that fits
/// in one block is sent with a single Put Blob, longer content is staged block by block and committed at the end, so
/// readers see the old blob or the whole new one, never a part. The container is checked once, on first use, so a
/// missing container or bad credentials fail with a message that says what to fix.
/// </summary>
internal sealed class BlobMediaStorage : IMediaStorage
{
    private const int MaxBlocks = 50_000;

    private readonly BlobContainerClient _container;
    private readonly BlobStorageOptions _options;
    private readonly string _rootPrefix;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly string _endpoint;
    private readonly SemaphoreSlim _readyLock = new(1, 1);
    private volatile bool _ready;
    private UserDelegationKey? _delegationKey;

    public BlobMediaStorage(BlobContainerClient container, BlobStorageOptions options, TimeProvider timeProvider, ILogger<BlobMediaStorage> logger)
    {
        _container = container;
        _options = options;
        _rootPrefix = MediaStorageKeys.NormalizeRootPrefix(options.Prefix);
        _timeProvider = timeProvider;
        _logger = logger;
        _endpoint = container.Uri.GetLeftPart(UriPartial.Path);
    }

    public async ValueTask<StoredObject> SaveAsync(string key, Stream content, StorageWriteOptions options, CancellationToken cancellationToken = default)
    {
        MediaStorageKeys.Validate(key);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(options);
        cancellationToken.ThrowIfCancellationRequested();
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);

        var blob = _container.GetBlockBlobClient(_rootPrefix + key);
        var headers = new BlobHttpHeaders { ContentType = options.ContentType };
        var metadata = EncodeMetadata(options.Metadata);
        var blockSize = _options.BlockSize;
        var buffer = ArrayPool<byte>.Shared.Rent(blockSize);
        try
        {
            var filled = await content.ReadAtLeastAsync(buffer.AsMemory(0, blockSize), blockSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            long size;
            int blocks;
            try
            {
                if (filled < blockSize)
                {
                    using var body = new MemoryStream(buffer, 0, filled, writable: false);
                    await blob.UploadAsync(body, new BlobUploadOptions { HttpHeaders = headers, Metadata = metadata }, cancellationToken).ConfigureAwait(false);
                    (size, blocks) = (filled, 1);
                }
                else
                {
                    (size, blocks) = await StageAndCommitAsync(blob, content, buffer, filled, headers, metadata, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (IsProviderFailure(e, cancellationToken))
            {
                throw Unavailable(e, $"saving '{key}'");
            }

            Log.Stored(_logger, blob.Name, _container.Name, size, blocks);
            return new StoredObject
            {
                Key = key,
                Size = size,
                ContentType = options.ContentType,
                Metadata = options.Metadata is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(options.Metadata, StringComparer.Ordinal),
            };
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async ValueTask<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        MediaStorageKeys.Validate(key);
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var response = await _container.GetBlobClient(_rootPrefix + key).DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return response.Value.Content;
        }
        catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound)
        {
            throw new StorageObjectNotFoundException(key, e);
        }
        catch (Exception e) when (IsProviderFailure(e, cancellationToken))
        {
            throw Unavailable(e, $"reading '{key}'");
        }
    }

    public async ValueTask<StoredObject?> GetInfoAsync(string key, CancellationToken cancellationToken = default)
    {
        MediaStorageKeys.Validate(key);
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var properties = (await _container.GetBlobClient(_rootPrefix + key).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
            return new StoredObject
            {
                Key = key,
                Size = properties.ContentLength,
                ContentType = properties.ContentType ?? "application/octet-stream",
                Metadata = DecodeMetadata(properties.Metadata),
            };
        }
        catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.BlobNotFound || (e.Status == 404 && e.ErrorCode != BlobErrorCode.ContainerNotFound))
        {
            return null;
        }
        catch (Exception e) when (IsProviderFailure(e, cancellationToken))
        {
            throw Unavailable(e, $"reading the properties of '{key}'");
        }
    }

    public async ValueTask<bool> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        MediaStorageKeys.Validate(key);
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await DeleteBlobAsync(_rootPrefix + key, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsProviderFailure(e, cancellationToken))
        {
            throw Unavailable(e, $"deleting '{key}'");
        }
    }

    public async ValueTask<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        MediaStorageKeys.ValidatePrefix(prefix);
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        var fullPrefix = _rootPrefix + prefix;
        var deleted = 0;
        try
        {
            await foreach (var page in _container.GetBlobsAsync(BlobTraits.None, BlobStates.None, fullPrefix, cancellationToken).AsPages().WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                // One page at a time, a few deletes in flight: a job has a handful of outputs, a tenant clean-up many.
                var results = await Task.WhenAll(page.Values.Chunk(16).Select(async chunk =>
                {
                    var count = 0;
                    foreach (var item in chunk)
                    {
                        count += await DeleteBlobAsync(item.Name, cancellationToken).ConfigureAwait(false) ? 1 : 0;
                    }

                    return count;
                })).ConfigureAwait(false);
                deleted += results.Sum();
            }
        }
        catch (Exception e) when (IsProviderFailure(e, cancellationToken))
        {
            throw Unavailable(e, $"deleting the blobs under '{prefix}'");
        }

        Log.DeletedPrefix(_logger, deleted, fullPrefix, _container.Name);
        return deleted;
    }

    public async ValueTask<Uri> GetReadUrlAsync(string key, TimeSpan? lifetime = null, CancellationToken cancellationToken = default)
    {
        MediaStorageKeys.Validate(key);
        var blobName = _rootPrefix + key;
        if (_options.PublicBaseUrl is { } publicBase)
        {
            return new Uri(publicBase.AbsoluteUri.TrimEnd('/') + "/" + string.Join('/', blobName.Split('/').Select(Uri.EscapeDataString)));
        }

        var validFor = lifetime ?? _options.ReadUrlLifetime;
        if (validFor <= TimeSpan.Zero || validFor > TimeSpan.FromDays(7))
        {
            throw new ArgumentOutOfRangeException(nameof(lifetime), lifetime, "A SAS read URL lives between 1 second and 7 days.");
        }

        var blob = _container.GetBlobClient(blobName);
        var now = _timeProvider.GetUtcNow();
        var sas = new BlobSasBuilder(BlobSasPermissions.Read, now + validFor)
        {
            BlobContainerName = _container.Name,
            BlobName = blobName,
            Resource = "b",
            StartsOn = now.AddMinutes(-5), // tolerate clock skew between this host and the service
        };
        if (blob.CanGenerateSasUri)
        {
            return blob.GenerateSasUri(sas);
        }

        // No account key: sign with a user delegation key (Microsoft Entra ID credentials), kept while it covers the URL.
        try
        {
            var key2 = _delegationKey;
            if (key2 is null || key2.SignedExpiresOn < sas.ExpiresOn)
            {
                var service = _container.GetParentBlobServiceClient();
                key2 = (await service.GetUserDelegationKeyAsync(now.AddMinutes(-5), now.AddDays(7), cancellationToken).ConfigureAwait(false)).Value;
                _delegationKey = key2;
            }

            return new BlobUriBuilder(blob.Uri) { Sas = sas.ToSasQueryParameters(key2, _container.AccountName) }.ToUri();
        }
        catch (Exception e) when (IsProviderFailure(e, cancellationToken))
        {
            throw new StorageUnavailableException(
                $"Cannot sign a read URL for '{key}' at {_endpoint}: the client has no account key and no user delegation key could be had ({Describe(e)}). " +
                "Use a connection string with an account key (MediaGen:Blob:ConnectionString), a client with a Microsoft Entra ID credential, or set MediaGen:Blob:PublicBaseUrl.",
                e);
        }
    }

    private async Task<(long Size, int Blocks)> StageAndCommitAsync(
        BlockBlobClient blob, Stream content, byte[] buffer, int filled, BlobHttpHeaders headers, Dictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        // Block ids must have one length per blob; a fresh upload id keeps a concurrent save of the same key apart.
        var uploadId = Guid.NewGuid().ToString("N");
        var blockSize = _options.BlockSize;
        var ids = new List<string>();
        long size = 0;
        while (filled > 0)
        {
            if (ids.Count == MaxBlocks)
            {
                throw new StorageUnavailableException(
                    $"'{blob.Name}' is larger than {MaxBlocks} blocks of {blockSize} bytes; raise BlobStorageOptions.BlockSize (MediaGen:Blob:BlockSize).");
            }

            var id = Convert.ToBase64String(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{uploadId}-{ids.Count:D6}")));
            using (var body = new MemoryStream(buffer, 0, filled, writable: false))
            {
                await blob.StageBlockAsync(id, body, new BlockBlobStageBlockOptions(), cancellationToken).ConfigureAwait(false);
            }

            ids.Add(id);
            size += filled;
            filled = filled < blockSize
                ? 0
                : await content.ReadAtLeastAsync(buffer.AsMemory(0, blockSize), blockSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        }

        await blob.CommitBlockListAsync(ids, new CommitBlockListOptions { HttpHeaders = headers, Metadata = metadata }, cancellationToken).ConfigureAwait(false);
        return (size, ids.Count);
    }

    private async Task<bool> DeleteBlobAsync(string blobName, CancellationToken cancellationToken) =>
        (await _container.GetBlobClient(blobName).DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken).ConfigureAwait(false)).Value;

    private async ValueTask EnsureReadyAsync(CancellationToken cancellationToken)
    {
        if (_ready)
        {
            return;
        }

        await _readyLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_ready)
            {
                return;
            }

            if (_options.CreateContainerIfMissing)
            {
                if (await _container.CreateIfNotExistsAsync(PublicAccessType.None, cancellationToken: cancellationToken).ConfigureAwait(false) is not null)
                {
                    Log.ContainerCreated(_logger, _container.Name);
                }
            }
            else
            {
                await _container.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            _ready = true;
        }
        catch (Exception e) when (IsProviderFailure(e, cancellationToken))
        {
            var unavailable = Unavailable(e, "checking the container");
            Log.Unavailable(_logger, unavailable.Message, e);
            throw unavailable;
        }
        finally
        {
            _readyLock.Release();
        }
    }

    private static bool IsProviderFailure(Exception e, CancellationToken cancellationToken) =>
        e is RequestFailedException or AggregateException or HttpRequestException or SocketException
        || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private StorageUnavailableException Unavailable(Exception e, string operation)
    {
        var container = $"container '{_container.Name}' at {_endpoint}";
        var failed = e is AggregateException aggregate ? aggregate.InnerExceptions.LastOrDefault() ?? e : e;
        var message = failed switch
        {
            RequestFailedException { ErrorCode: "ContainerNotFound" } =>
                $"The Azure Blob {container} does not exist. Create it, point BlobStorageOptions.ContainerName (MediaGen:Blob:ContainerName) at an existing container, or set CreateContainerIfMissing (MediaGen:Blob:CreateContainerIfMissing) to true.",
            RequestFailedException { ErrorCode: "AuthenticationFailed" } or RequestFailedException { Status: 403, ErrorCode: null } =>
                $"Azure Blob storage rejected the credentials for the {container}. Check the account name and key in MediaGen:Blob:ConnectionString, or the SAS token in MediaGen:Blob:ServiceUri, or the client's credential.",
            RequestFailedException { Status: 403 } r =>
                $"Azure Blob storage denied access to the {container} ({r.ErrorCode}) while {operation}. Check the credentials (the account key in MediaGen:Blob:ConnectionString, the SAS token in MediaGen:Blob:ServiceUri, or the client's credential) and that they may read, write, list and delete blobs in the container.",
            RequestFailedException { ErrorCode: "InvalidHeaderValue" } r when r.Message.Contains("x-ms-version", StringComparison.OrdinalIgnoreCase) =>
                $"The Blob service at {_endpoint} does not support this client's API version. Upgrade the service (for Azurite, start it with --skipApiVersionCheck).",
            RequestFailedException { Status: 0 } or HttpRequestException or SocketException =>
                $"Cannot reach the Azure Blob endpoint {_endpoint} ({Describe(failed)}). Check MediaGen:Blob:ConnectionString or ServiceUri, and that the service is running.",
            OperationCanceledException =>
                $"The Azure Blob endpoint {_endpoint} did not answer in time while {operation}. Check MediaGen:Blob:ConnectionString or ServiceUri and the network.",
            RequestFailedException r =>
                $"Azure Blob storage failed while {operation} in the {container}: {r.ErrorCode} ({r.Status}) {FirstLine(r.Message)}",
            _ => $"Azure Blob storage failed while {operation} in the {container}: {FirstLine(failed.Message)}",
        };
        return new StorageUnavailableException(message, e);
    }

    private static string Describe(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException or HttpRequestException)
            {
                return inner.Message;
            }
        }

        return FirstLine(e.Message);
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOf('\n', StringComparison.Ordinal);
        return (end < 0 ? message : message[..end]).Trim();
    }

    // Blob metadata names must be C# identifiers, so MediaGen's dashes travel as underscores.
    private static Dictionary<string, string> EncodeMetadata(IReadOnlyDictionary<string, string>? metadata)
    {
        var encoded = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (metadata is not null)
        {
            foreach (var (name, value) in metadata)
            {
                encoded[name.Replace('-', '_')] = value;
            }
        }

        return encoded;
    }

    private static Dictionary<string, string> DecodeMetadata(IDictionary<string, string> metadata)
    {
        var decoded = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in metadata)
        {
            decoded[name.ToLowerInvariant().Replace('_', '-')] = value;
        }

        return decoded;
    }
}
