using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using MediaGen.Shared;
using MediaGen.Storage.ObjectStores;
using Microsoft.Extensions.Logging;

namespace MediaGen.Storage.S3.Internal;

/// <summary>
/// <see cref="IMediaStorage"/> on an S3 bucket: the S3 SDK calls and error codes; keys, streaming, URLs and error
/// wording come from <see cref="ObjectMediaStorage"/>. Content that fits in one part is sent with a single PUT, longer
/// content as a multipart upload that is aborted if anything fails.
/// </summary>
internal sealed class S3MediaStorage : ObjectMediaStorage
{
    private const string MetadataHeaderPrefix = "x-amz-meta-";
    private const int MaxParts = 10_000;

    private readonly IAmazonS3 _client;
    private readonly bool _ownsClient;
    private readonly S3StorageOptions _options;
    private readonly string _bucket;
    private readonly Protocol _urlProtocol;

    public S3MediaStorage(IAmazonS3 client, bool ownsClient, S3StorageOptions options, TimeProvider timeProvider, ILogger<S3MediaStorage> logger)
        : base(options, timeProvider, logger)
    {
        _client = client;
        _ownsClient = ownsClient;
        _options = options;
        _bucket = options.BucketName ?? throw new ArgumentException("S3StorageOptions.BucketName is required.", nameof(options));
        _urlProtocol = client.Config.ServiceURL is { } url && url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? Protocol.HTTP : Protocol.HTTPS;
    }

    protected override string ContainerName => _bucket;

    protected override string Endpoint => _client.Config.ServiceURL ?? $"Amazon S3 ({_client.Config.RegionEndpoint?.SystemName ?? "default region"})";

    protected override async Task CheckReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            // A one-key listing, unlike HEAD, returns an error code that tells a missing bucket from bad credentials.
            await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, MaxKeys = 1 }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode == "NoSuchBucket" && _options.CreateBucketIfMissing)
        {
            try
            {
                await _client.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, cancellationToken).ConfigureAwait(false);
                Log.BucketCreated(Logger, _bucket);
            }
            catch (AmazonS3Exception created) when (created.ErrorCode is "BucketAlreadyOwnedByYou")
            {
                // Another process created it first.
            }
        }
    }

    protected override async Task WriteObjectAsync(string name, ContentChunks chunks, StorageWriteOptions options, CancellationToken cancellationToken)
    {
        if (chunks.IsSingle)
        {
            using var body = chunks.OpenCurrent();
            var request = new PutObjectRequest { BucketName = _bucket, Key = name, InputStream = body, ContentType = options.ContentType, AutoCloseStream = false };
            AddMetadata(request.Metadata, options.Metadata);
            await _client.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
            return;
        }

        var initiate = new InitiateMultipartUploadRequest { BucketName = _bucket, Key = name, ContentType = options.ContentType };
        AddMetadata(initiate.Metadata, options.Metadata);
        var uploadId = (await _client.InitiateMultipartUploadAsync(initiate, cancellationToken).ConfigureAwait(false)).UploadId;
        var etags = new List<PartETag>();
        try
        {
            do
            {
                if (chunks.Count > MaxParts)
                {
                    throw new StorageUnavailableException(
                        $"'{name}' is larger than S3's {MaxParts} parts of {chunks.Size} bytes; raise S3StorageOptions.PartSize (MediaGen:S3:PartSize).");
                }

                using var body = chunks.OpenCurrent();
                var part = await _client.UploadPartAsync(
                    new UploadPartRequest { BucketName = _bucket, Key = name, UploadId = uploadId, PartNumber = chunks.Count, PartSize = body.Length, InputStream = body },
                    cancellationToken).ConfigureAwait(false);
                etags.Add(new PartETag(chunks.Count, part.ETag));
            }
            while (await chunks.MoveNextAsync(cancellationToken).ConfigureAwait(false));

            await _client.CompleteMultipartUploadAsync(
                new CompleteMultipartUploadRequest { BucketName = _bucket, Key = name, UploadId = uploadId, PartETags = etags },
                cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await AbortAsync(name, uploadId).ConfigureAwait(false);
            throw;
        }
    }

    protected override async Task<Stream> OpenObjectAsync(string name, CancellationToken cancellationToken)
    {
        var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = name }, cancellationToken).ConfigureAwait(false);
        return new OwningReadStream(response.ResponseStream, response);
    }

    protected override bool IsObjectNotFound(Exception exception) =>
        exception is AmazonS3Exception { StatusCode: HttpStatusCode.NotFound } e && e.ErrorCode != "NoSuchBucket";

    protected override async Task<StoredObject?> GetObjectInfoAsync(string key, string name, CancellationToken cancellationToken)
    {
        var response = await HeadAsync(name, cancellationToken).ConfigureAwait(false);
        if (response is null)
        {
            return null;
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var header in response.Metadata.Keys)
        {
            var bare = header.StartsWith(MetadataHeaderPrefix, StringComparison.OrdinalIgnoreCase) ? header[MetadataHeaderPrefix.Length..] : header;
            metadata[bare.ToLowerInvariant()] = response.Metadata[header];
        }

        return new StoredObject
        {
            Key = key,
            Size = response.ContentLength,
            ContentType = response.Headers.ContentType ?? "application/octet-stream",
            Metadata = metadata,
        };
    }

    protected override async Task<bool> DeleteObjectAsync(string name, CancellationToken cancellationToken)
    {
        // S3 answers a delete the same whether or not the key existed; ask first to report which it was.
        if (await HeadAsync(name, cancellationToken).ConfigureAwait(false) is null)
        {
            return false;
        }

        await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = name }, cancellationToken).ConfigureAwait(false);
        return true;
    }

    protected override async Task<int> DeleteObjectsAsync(string prefix, string fullPrefix, CancellationToken cancellationToken)
    {
        var deleted = 0;
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
        return deleted;
    }

    protected override async ValueTask<Uri> SignReadUrlAsync(string key, string name, TimeSpan validFor, CancellationToken cancellationToken)
    {
        var request = new GetPreSignedUrlRequest
        {
            BucketName = _bucket,
            Key = name,
            Verb = HttpVerb.GET,
            Protocol = _urlProtocol,
            Expires = (TimeProvider.GetUtcNow() + validFor).UtcDateTime,
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

    protected override bool IsServiceException(Exception exception) => exception is AmazonServiceException or AmazonClientException;

    protected override string? DescribeServiceFailure(Exception failure, string operation)
    {
        var bucket = $"bucket '{_bucket}' at {Endpoint}";
        return failure switch
        {
            AmazonS3Exception { ErrorCode: "NoSuchBucket" } =>
                $"The S3 {bucket} does not exist. Create it, point S3StorageOptions.BucketName (MediaGen:S3:BucketName) at an existing bucket, or set CreateBucketIfMissing (MediaGen:S3:CreateBucketIfMissing) to true.",
            AmazonS3Exception { ErrorCode: "InvalidAccessKeyId" } =>
                $"S3 does not know the access key id used for the {bucket}. Check S3StorageOptions.AccessKey (MediaGen:S3:AccessKey), or the default AWS credentials when it is unset.",
            AmazonS3Exception { ErrorCode: "SignatureDoesNotMatch" } =>
                $"S3 rejected the request signature for the {bucket}: the secret key does not match the access key. Check S3StorageOptions.SecretKey (MediaGen:S3:SecretKey).",
            AmazonS3Exception { ErrorCode: "XAmzContentSHA256Mismatch" or "BadDigest" or "InvalidDigest" } =>
                $"The S3 service at {Endpoint} rejected the upload's checksum. S3-compatible services such as Ceph radosgw need S3StorageOptions.RequestChecksumCalculation (MediaGen:S3:RequestChecksumCalculation) set to WhenRequired.",
            AmazonS3Exception { ErrorCode: "PermanentRedirect" or "AuthorizationHeaderMalformed" or "IllegalLocationConstraintException" } =>
                $"The S3 {bucket} is in another region. Set S3StorageOptions.Region (MediaGen:S3:Region) to the bucket's region.",
            AmazonS3Exception { StatusCode: HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized } s =>
                $"S3 denied access to the {bucket} ({s.ErrorCode ?? ((int)s.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)}) while {operation}. Check the credentials (MediaGen:S3:AccessKey and SecretKey) and that they may read, write, list and delete objects in the bucket.",
            AmazonS3Exception s =>
                $"S3 failed while {operation} in the {bucket}: {s.ErrorCode} ({(int)s.StatusCode}) {s.Message}",
            AmazonClientException when FindCause(failure) is null && failure.Message.Contains("credential", StringComparison.OrdinalIgnoreCase) =>
                $"No AWS credentials were found for the {bucket}: {failure.Message} Set S3StorageOptions.AccessKey and SecretKey (MediaGen:S3:AccessKey, MediaGen:S3:SecretKey) or configure the default AWS credentials.",
            _ => null,
        };
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _ownsClient)
        {
            _client.Dispose();
        }

        base.Dispose(disposing);
    }

    private async Task AbortAsync(string name, string uploadId)
    {
        try
        {
            // Not the caller's token: the parts must go even when the save was canceled.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), TimeProvider);
            await _client.AbortMultipartUploadAsync(
                new AbortMultipartUploadRequest { BucketName = _bucket, Key = name, UploadId = uploadId }, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or OperationCanceledException)
        {
            Log.AbortFailed(Logger, name, _bucket, e);
        }
    }

    private async Task<GetObjectMetadataResponse?> HeadAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = name }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
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
}
