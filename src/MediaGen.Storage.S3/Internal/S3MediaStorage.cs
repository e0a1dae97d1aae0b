using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;

namespace MediaGen.Storage.S3.Internal;

/// <summary>
/// <see cref="IMediaStorage"/> on an S3 bucket. A save holds at most one part in memory: content that fits in one part
/// is sent with a single PUT, longer content as a multipart upload that is aborted if anything fails. The bucket is
/// checked once, on first use, so a missing bucket or bad credentials fail with a message that says what to fix.
/// </summary>
internal sealed class S3MediaStorage : IMediaStorage, IDisposable
{
    private const string MetadataHeaderPrefix = "x-amz-meta-";
    private const int MaxParts = 10_000;

    private readonly IAmazonS3 _client;
    private readonly bool _ownsClient;
    private readonly S3StorageOptions _options;
    private readonly string _bucket;
    private readonly string _rootPrefix;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Protocol _urlProtocol;
    private readonly SemaphoreSlim _readyLock = new(1, 1);
    private volatile bool _ready;

    public S3MediaStorage(IAmazonS3 client, bool ownsClient, S3StorageOptions options, TimeProvider timeProvider, ILogger<S3MediaStorage> logger)
    {
        _client = client;
        _ownsClient = ownsClient;
        _options = options;
        _bucket = options.BucketName ?? throw new ArgumentException("S3StorageOptions.BucketName is required.", nameof(options));
        _rootPrefix = MediaStorageKeys.NormalizeRootPrefix(options.Prefix);
        _timeProvider = timeProvider;
        _logger = logger;
        _urlProtocol = client.Config.ServiceURL is { } url && url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? Protocol.HTTP : Protocol.HTTPS;
    }

    public async ValueTask<StoredObject> SaveAsync(string key, Stream content, StorageWriteOptions options, CancellationToken cancellationToken = default)
    {
        MediaStorageKeys.Validate(key);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(options);
        cancellationToken.ThrowIfCancellationRequested();
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);

        var objectKey = _rootPrefix + key;
        var partSize = _options.PartSize;
        var buffer = ArrayPool<byte>.Shared.Rent(partSize);
        try
        {
            var filled = await content.ReadAtLeastAsync(buffer.AsMemory(0, partSize), partSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            long size;
            int parts;
            try
            {
                if (filled < partSize)
                {
                    await PutSingleAsync(objectKey, buffer, filled, options, cancellationToken).ConfigureAwait(false);
                    (size, parts) = (filled, 1);
                }
                else
                {
                    (size, parts) = await PutMultipartAsync(objectKey, content, buffer, filled, options, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (IsProviderFailure(e, cancellationToken))
            {
                throw Unavailable(e, $"saving '{key}'");
            }

            Log.Stored(_logger, objectKey, _bucket, size, parts);
            return new StoredObject { Key = key, Size = size, ContentType = options.ContentType, Metadata = CopyMetadata(options.Metadata) };
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
            var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = _rootPrefix + key }, cancellationToken).ConfigureAwait(false);
            return new OwningReadStream(response.ResponseStream, response);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
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
            var response = await HeadAsync(_rootPrefix + key, cancellationToken).ConfigureAwait(false);
            if (response is null)
            {
                return null;
            }

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var name in response.Metadata.Keys)
            {
                var bare = name.StartsWith(MetadataHeaderPrefix, StringComparison.OrdinalIgnoreCase) ? name[MetadataHeaderPrefix.Length..] : name;
                metadata[bare.ToLowerInvariant()] = response.Metadata[name];
            }

            return new StoredObject
            {
                Key = key,
                Size = response.ContentLength,
                ContentType = response.Headers.ContentType ?? "application/octet-stream",
                Metadata = metadata,
            };
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
            // S3 answers a delete the same whether or not the key existed; ask first to report which it was.
            if (await HeadAsync(_rootPrefix + key, cancellationToken).ConfigureAwait(false) is null)
            {
                return false;
            }

            await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = _rootPrefix + key }, cancellationToken).ConfigureAwait(false);
            return true;
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
            string? continuation = null;
            do
            {
                var page = await _client.ListObjectsV2Async(
                    new ListObjectsV2Request { BucketName = _bucket, Prefix = fullPrefix, ContinuationToken = continuation },
                    cancellationToken).ConfigureAwait(false);
                if (page.S3Objects is { Count: > 0 } objects)
                {
                    var response = await _client.DeleteObjectsAsync(
                        new DeleteObjectsRequest { BucketName = _bucket, Objects = [.. objects.Select(o => new KeyVersion { Key = o.Key })] },
                        cancellationToken).ConfigureAwait(false);
                    deleted += response.DeletedObjects?.Count ?? 0;
                    if (response.DeleteErrors is { Count: > 0 } errors)
                    {
                        throw new StorageUnavailableException(
                            $"S3 refused to delete {errors.Count} object(s) under '{prefix}' in bucket '{_bucket}' ({errors[0].Code}: {errors[0].Message}). Check that the credentials may delete objects.");
                    }
                }

                continuation = page.IsTruncated == true ? page.NextContinuationToken : null;
            }
            while (continuation is not null);
        }
        catch (Exception e) when (IsProviderFailure(e, cancellationToken))
        {
            throw Unavailable(e, $"deleting the objects under '{prefix}'");
        }

        Log.DeletedPrefix(_logger, deleted, fullPrefix, _bucket);
        return deleted;
    }

    public async ValueTask<Uri> GetReadUrlAsync(string key, TimeSpan? lifetime = null, CancellationToken cancellationToken = default)
    {
        MediaStorageKeys.Validate(key);
        var objectKey = _rootPrefix + key;
        if (_options.PublicBaseUrl is { } publicBase)
        {
            return new Uri(publicBase.AbsoluteUri.TrimEnd('/') + "/" + string.Join('/', objectKey.Split('/').Select(Uri.EscapeDataString)));
        }

        var validFor = lifetime ?? _options.ReadUrlLifetime;
        if (validFor <= TimeSpan.Zero || validFor > TimeSpan.FromDays(7))
        {
            throw new ArgumentOutOfRangeException(nameof(lifetime), lifetime, "A presigned S3 URL lives between 1 second and 7 days.");
        }

        var request = new GetPreSignedUrlRequest
        {
            BucketName = _bucket,
            Key = objectKey,
            Verb = HttpVerb.GET,
            Protocol = _urlProtocol,
            Expires = (_timeProvider.GetUtcNow() + validFor).UtcDateTime,
        };
        try
        {
            return new Uri(await _client.GetPreSignedURLAsync(request).ConfigureAwait(false));
        }
        catch (AmazonClientException e)
        {
            throw Unavailable(e, $"signing a read URL for '{key}'");
        }
    }

    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }

        _readyLock.Dispose();
    }

    private async Task PutSingleAsync(string objectKey, byte[] buffer, int length, StorageWriteOptions options, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream(buffer, 0, length, writable: false);
        var request = new PutObjectRequest { BucketName = _bucket, Key = objectKey, InputStream = body, ContentType = options.ContentType, AutoCloseStream = false };
        AddMetadata(request.Metadata, options.Metadata);
        await _client.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private async Task<(long Size, int Parts)> PutMultipartAsync(string objectKey, Stream content, byte[] buffer, int filled, StorageWriteOptions options, CancellationToken cancellationToken)
    {
        var initiate = new InitiateMultipartUploadRequest { BucketName = _bucket, Key = objectKey, ContentType = options.ContentType };
        AddMetadata(initiate.Metadata, options.Metadata);
        var uploadId = (await _client.InitiateMultipartUploadAsync(initiate, cancellationToken).ConfigureAwait(false)).UploadId;
        var partSize = _options.PartSize;
        var etags = new List<PartETag>();
        long size = 0;
        try
        {
            while (filled > 0)
            {
                if (etags.Count == MaxParts)
                {
                    throw new StorageUnavailableException(
                        $"'{objectKey}' is larger than S3's {MaxParts} parts of {partSize} bytes; raise S3StorageOptions.PartSize (MediaGen:S3:PartSize).");
                }

                using (var body = new MemoryStream(buffer, 0, filled, writable: false))
                {
                    var part = await _client.UploadPartAsync(
                        new UploadPartRequest { BucketName = _bucket, Key = objectKey, UploadId = uploadId, PartNumber = etags.Count + 1, PartSize = filled, InputStream = body },
                        cancellationToken).ConfigureAwait(false);
                    etags.Add(new PartETag(etags.Count + 1, part.ETag));
                }

                size += filled;
                filled = filled < partSize
                    ? 0
                    : await content.ReadAtLeastAsync(buffer.AsMemory(0, partSize), partSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            }

            await _client.CompleteMultipartUploadAsync(
                new CompleteMultipartUploadRequest { BucketName = _bucket, Key = objectKey, UploadId = uploadId, PartETags = etags },
                cancellationToken).ConfigureAwait(false);
            return (size, etags.Count);
        }
        catch
        {
            await AbortAsync(objectKey, uploadId).ConfigureAwait(false);
            throw;
        }
    }

    private async Task AbortAsync(string objectKey, string uploadId)
    {
        try
        {
            // Not the caller's token: the parts must go even when the save was canceled.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), _timeProvider);
            await _client.AbortMultipartUploadAsync(
                new AbortMultipartUploadRequest { BucketName = _bucket, Key = objectKey, UploadId = uploadId }, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or OperationCanceledException)
        {
            Log.AbortFailed(_logger, objectKey, _bucket, e);
        }
    }

    private async Task<GetObjectMetadataResponse?> HeadAsync(string objectKey, CancellationToken cancellationToken)
    {
        try
        {
            return await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = objectKey }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

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

            try
            {
                // A one-key listing, unlike HEAD, returns an error code that tells a missing bucket from bad credentials.
                await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, MaxKeys = 1 }, cancellationToken).ConfigureAwait(false);
            }
            catch (AmazonS3Exception e) when (e.ErrorCode == "NoSuchBucket" && _options.CreateBucketIfMissing)
            {
                await CreateBucketAsync(cancellationToken).ConfigureAwait(false);
            }

            _ready = true;
        }
        catch (Exception e) when (IsProviderFailure(e, cancellationToken))
        {
            var unavailable = Unavailable(e, "checking the bucket");
            Log.Unavailable(_logger, unavailable.Message, e);
            throw unavailable;
        }
        finally
        {
            _readyLock.Release();
        }
    }

    private async Task CreateBucketAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _client.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, cancellationToken).ConfigureAwait(false);
            Log.BucketCreated(_logger, _bucket);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode is "BucketAlreadyOwnedByYou")
        {
            // Another process created it first.
        }
    }

    private static bool IsProviderFailure(Exception e, CancellationToken cancellationToken) =>
        e is AmazonServiceException or AmazonClientException or HttpRequestException or SocketException
        || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private StorageUnavailableException Unavailable(Exception e, string operation)
    {
        var endpoint = _client.Config.ServiceURL ?? $"Amazon S3 ({_client.Config.RegionEndpoint?.SystemName ?? "default region"})";
        var bucket = $"bucket '{_bucket}' at {endpoint}";
        var message = e switch
        {
            AmazonS3Exception { ErrorCode: "NoSuchBucket" } =>
                $"The S3 {bucket} does not exist. Create it, point S3StorageOptions.BucketName (MediaGen:S3:BucketName) at an existing bucket, or set CreateBucketIfMissing (MediaGen:S3:CreateBucketIfMissing) to true.",
            AmazonS3Exception { ErrorCode: "InvalidAccessKeyId" } =>
                $"S3 does not know the access key id used for the {bucket}. Check S3StorageOptions.AccessKey (MediaGen:S3:AccessKey), or the default AWS credentials when it is unset.",
            AmazonS3Exception { ErrorCode: "SignatureDoesNotMatch" } =>
                $"S3 rejected the request signature for the {bucket}: the secret key does not match the access key. Check S3StorageOptions.SecretKey (MediaGen:S3:SecretKey).",
            AmazonS3Exception { ErrorCode: "XAmzContentSHA256Mismatch" or "BadDigest" or "InvalidDigest" } =>
                $"The S3 service at {endpoint} rejected the upload's checksum. S3-compatible services such as Ceph radosgw need S3StorageOptions.RequestChecksumCalculation (MediaGen:S3:RequestChecksumCalculation) set to WhenRequired.",
            AmazonS3Exception { ErrorCode: "PermanentRedirect" or "AuthorizationHeaderMalformed" or "IllegalLocationConstraintException" } =>
                $"The S3 {bucket} is in another region. Set S3StorageOptions.Region (MediaGen:S3:Region) to the bucket's region.",
            AmazonS3Exception { StatusCode: HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized } s =>
                $"S3 denied access to the {bucket} ({s.ErrorCode ?? ((int)s.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)}) while {operation}. Check the credentials (MediaGen:S3:AccessKey and SecretKey) and that they may read, write, list and delete objects in the bucket.",
            AmazonS3Exception s =>
                $"S3 failed while {operation} in the {bucket}: {s.ErrorCode} ({(int)s.StatusCode}) {s.Message}",
            OperationCanceledException =>
                $"The S3 endpoint {endpoint} did not answer in time while {operation}. Check S3StorageOptions.ServiceUrl (MediaGen:S3:ServiceUrl) and the network.",
            _ when FindInner<HttpRequestException>(e) is not null || FindInner<SocketException>(e) is not null =>
                $"Cannot reach the S3 endpoint {endpoint} ({(FindInner<SocketException>(e) ?? (Exception?)FindInner<HttpRequestException>(e))!.Message}). Check S3StorageOptions.ServiceUrl (MediaGen:S3:ServiceUrl) or Region, and that the service is running.",
            AmazonClientException when e.Message.Contains("credential", StringComparison.OrdinalIgnoreCase) =>
                $"No AWS credentials were found for the {bucket}: {e.Message} Set S3StorageOptions.AccessKey and SecretKey (MediaGen:S3:AccessKey, MediaGen:S3:SecretKey) or configure the default AWS credentials.",
            _ => $"S3 failed while {operation} in the {bucket}: {e.Message}",
        };
        return new StorageUnavailableException(message, e);
    }

    private static T? FindInner<T>(Exception? e)
        where T : Exception
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is T match)
            {
                return match;
            }
        }

        return null;
    }

    private static void AddMetadata(MetadataCollection target, IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null)
        {
            return;
        }

        foreach (var (name, value) in metadata)
        {
            target.Add(name, value);
        }
    }

    private static Dictionary<string, string> CopyMetadata(IReadOnlyDictionary<string, string>? metadata) =>
        metadata is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(metadata, StringComparer.Ordinal);
}
