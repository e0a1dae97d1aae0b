using Microsoft.Extensions.Logging;

namespace MediaGen.Storage.S3.Internal;

internal static partial class Log
{
    [LoggerMessage(EventId = 4101, Level = LogLevel.Debug, Message = "Stored '{Key}' in S3 bucket '{Bucket}': {Size} bytes in {Parts} part(s).")]
    public static partial void Stored(ILogger logger, string key, string bucket, long size, int parts);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Could not abort the multipart upload of '{Key}' in S3 bucket '{Bucket}'; a lifecycle rule for incomplete multipart uploads cleans such parts up.")]
    public static partial void AbortFailed(ILogger logger, string key, string bucket, Exception exception);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Information, Message = "Created the S3 bucket '{Bucket}'.")]
    public static partial void BucketCreated(ILogger logger, string bucket);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Debug, Message = "Deleted {Count} object(s) under '{Prefix}' in S3 bucket '{Bucket}'.")]
    public static partial void DeletedPrefix(ILogger logger, int count, string prefix, string bucket);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Warning, Message = "The S3 storage is unavailable: {Reason}")]
    public static partial void Unavailable(ILogger logger, string reason, Exception exception);
}
