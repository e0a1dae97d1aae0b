using Microsoft.Extensions.Logging;

namespace MediaGen.Storage.S3.Internal;

internal static partial class Log
{
    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Could not abort the multipart upload of '{Key}' in S3 bucket '{Bucket}'; a lifecycle rule for incomplete multipart uploads cleans such parts up.")]
    public static partial void AbortFailed(ILogger logger, string key, string bucket, Exception exception);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Information, Message = "Created the S3 bucket '{Bucket}'.")]
    public static partial void BucketCreated(ILogger logger, string bucket);
}
