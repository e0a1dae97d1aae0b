using System.Globalization;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;
using MediaGen.Storage.ObjectStores;
using Microsoft.Extensions.Logging;

namespace MediaGen.Storage.Blob.Internal;

/// <summary>
/// <see cref="IMediaStorage"/> on an Azure Blob container: the Blob SDK calls and error codes; keys, streaming, URLs
/// and error wording come from <see cref="ObjectMediaStorage"/>. Content that fits in one block is sent with a single
/// Put Blob, longer content is staged block by block and committed at the end, so readers see the old blob or the
/// whole new one, never a part.
/// </summary>
internal sealed class BlobMediaStorage : ObjectMediaStorage
{
    private const int MaxBlocks = 50_000;

    private readonly BlobContainerClient _container;
    private readonly BlobStorageOptions _options;
    private readonly string _endpoint;
    private UserDelegationKey? _delegationKey;

    public BlobMediaStorage(BlobContainerClient container, BlobStorageOptions options, TimeProvider timeProvider, ILogger<BlobMediaStorage> logger)
        : base(options, timeProvider, logger)
    {
        _container = container;
        _options = options;
        _endpoint = container.Uri.GetLeftPart(UriPartial.Path);
    }

    protected override string ContainerName => _container.Name;

    protected override string Endpoint => _endpoint;

    protected override async Task CheckReadyAsync(CancellationToken cancellationToken)
    {
        if (_options.CreateContainerIfMissing)
        {
            if (await _container.CreateIfNotExistsAsync(PublicAccessType.None, cancellationToken: cancellationToken).ConfigureAwait(false) is not null)
            {
                Log.ContainerCreated(Logger, _container.Name);
            }
        }
        else
        {
            await _container.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    protected override async Task WriteObjectAsync(string name, ContentChunks chunks, StorageWriteOptions options, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlockBlobClient(name);
        var headers = new BlobHttpHeaders { ContentType = options.ContentType };
        var metadata = EncodeMetadata(options.Metadata);
        if (chunks.IsSingle)
        {
            using var body = chunks.OpenCurrent();
            await blob.UploadAsync(body, new BlobUploadOptions { HttpHeaders = headers, Metadata = metadata }, cancellationToken).ConfigureAwait(false);
            return;
        }

        // Block ids must have one length per blob; a fresh upload id keeps a concurrent save of the same key apart.
        var uploadId = Guid.NewGuid().ToString("N");
        var ids = new List<string>();
        do
        {
            if (chunks.Count > MaxBlocks)
            {
                throw new StorageUnavailableException(
                    $"'{blob.Name}' is larger than {MaxBlocks} blocks of {chunks.Size} bytes; raise BlobStorageOptions.BlockSize (MediaGen:Blob:BlockSize).");
            }

            var id = Convert.ToBase64String(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{uploadId}-{ids.Count:D6}")));
            using (var body = chunks.OpenCurrent())
            {
                await blob.StageBlockAsync(id, body, new BlockBlobStageBlockOptions(), cancellationToken).ConfigureAwait(false);
            }

            ids.Add(id);
        }
        while (await chunks.MoveNextAsync(cancellationToken).ConfigureAwait(false));

        await blob.CommitBlockListAsync(ids, new CommitBlockListOptions { HttpHeaders = headers, Metadata = metadata }, cancellationToken).ConfigureAwait(false);
    }

    protected override async Task<Stream> OpenObjectAsync(string name, CancellationToken cancellationToken) =>
        (await _container.GetBlobClient(name).DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value.Content;

    protected override bool IsObjectNotFound(Exception exception) => exception is RequestFailedException { ErrorCode: "BlobNotFound" };

    protected override async Task<StoredObject?> GetObjectInfoAsync(string key, string name, CancellationToken cancellationToken)
    {
        try
        {
            var properties = (await _container.GetBlobClient(name).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
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
    }

    protected override async Task<bool> DeleteObjectAsync(string name, CancellationToken cancellationToken) =>
        (await _container.GetBlobClient(name).DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken).ConfigureAwait(false)).Value;

    protected override async Task<int> DeleteObjectsAsync(string prefix, string fullPrefix, CancellationToken cancellationToken)
    {
        var deleted = 0;
        await foreach (var page in _container.GetBlobsAsync(BlobTraits.None, BlobStates.None, fullPrefix, cancellationToken).AsPages().WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            // One page at a time, a few deletes in flight: a job has a handful of outputs, a tenant clean-up many.
            var results = await Task.WhenAll(page.Values.Chunk(16).Select(async chunk =>
            {
                var count = 0;
                foreach (var item in chunk)
                {
                    count += await DeleteObjectAsync(item.Name, cancellationToken).ConfigureAwait(false) ? 1 : 0;
                }

                return count;
            })).ConfigureAwait(false);
            deleted += results.Sum();
        }

        return deleted;
    }

    protected override async ValueTask<Uri> SignReadUrlAsync(string key, string name, TimeSpan validFor, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(name);
        var now = TimeProvider.GetUtcNow();
        var sas = new BlobSasBuilder(BlobSasPermissions.Read, now + validFor)
        {
            BlobContainerName = _container.Name,
            BlobName = name,
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
            var delegationKey = _delegationKey;
            if (delegationKey is null || delegationKey.SignedExpiresOn < sas.ExpiresOn)
            {
                var service = _container.GetParentBlobServiceClient();
                delegationKey = (await service.GetUserDelegationKeyAsync(now.AddMinutes(-5), now.AddDays(7), cancellationToken).ConfigureAwait(false)).Value;
                _delegationKey = delegationKey;
            }

            return new BlobUriBuilder(blob.Uri) { Sas = sas.ToSasQueryParameters(delegationKey, _container.AccountName) }.ToUri();
        }
        catch (Exception e) when (IsFailure(e, cancellationToken))
        {
            throw new StorageUnavailableException(
                $"Cannot sign a read URL for '{key}' at {_endpoint}: the client has no account key and no user delegation key could be had ({FindCause(e)?.Message ?? FirstLine(e.Message)}). " +
                "Use a connection string with an account key (MediaGen:Blob:ConnectionString), a client with a Microsoft Entra ID credential, or set MediaGen:Blob:PublicBaseUrl.",
                e);
        }
    }

    protected override bool IsServiceException(Exception exception) => exception is RequestFailedException;

    protected override string? DescribeServiceFailure(Exception failure, string operation)
    {
        var container = $"container '{_container.Name}' at {_endpoint}";
        return failure switch
        {
            RequestFailedException { ErrorCode: "ContainerNotFound" } =>
                $"The Azure Blob {container} does not exist. Create it, point BlobStorageOptions.ContainerName (MediaGen:Blob:ContainerName) at an existing container, or set CreateContainerIfMissing (MediaGen:Blob:CreateContainerIfMissing) to true.",
            RequestFailedException { ErrorCode: "AuthenticationFailed" } or RequestFailedException { Status: 403, ErrorCode: null } =>
                $"Azure Blob storage rejected the credentials for the {container}. Check the account name and key in MediaGen:Blob:ConnectionString, or the SAS token in MediaGen:Blob:ServiceUri, or the client's credential.",
            RequestFailedException { Status: 403 } r =>
                $"Azure Blob storage denied access to the {container} ({r.ErrorCode}) while {operation}. Check the credentials (the account key in MediaGen:Blob:ConnectionString, the SAS token in MediaGen:Blob:ServiceUri, or the client's credential) and that they may read, write, list and delete blobs in the container.",
            RequestFailedException { ErrorCode: "InvalidHeaderValue" } r when r.Message.Contains("x-ms-version", StringComparison.OrdinalIgnoreCase) =>
                $"The Blob service at {_endpoint} does not support this client's API version. Upgrade the service (for Azurite, start it with --skipApiVersionCheck).",
            RequestFailedException { Status: 0 } r when FindCause(r) is null =>
                $"Cannot reach the Azure Blob endpoint {_endpoint} ({FirstLine(r.Message)}). Check MediaGen:Blob:ConnectionString or ServiceUri, and that the service is running.",
            RequestFailedException { Status: not 0 } r =>
                $"Azure Blob storage failed while {operation} in the {container}: {r.ErrorCode} ({r.Status}) {FirstLine(r.Message)}",
            _ => null,
        };
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
