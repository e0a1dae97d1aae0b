using Microsoft.Extensions.Logging;

namespace MediaGen.Storage.Blob.Internal;

internal static partial class Log
{
    [LoggerMessage(EventId = 4201, Level = LogLevel.Debug, Message = "Stored '{BlobName}' in Azure Blob container '{Container}': {Size} bytes in {Blocks} block(s).")]
    public static partial void Stored(ILogger logger, string blobName, string container, long size, int blocks);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Information, Message = "Created the Azure Blob container '{Container}'.")]
    public static partial void ContainerCreated(ILogger logger, string container);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Debug, Message = "Deleted {Count} blob(s) under '{Prefix}' in Azure Blob container '{Container}'.")]
    public static partial void DeletedPrefix(ILogger logger, int count, string prefix, string container);

    [LoggerMessage(EventId = 4204, Level = LogLevel.Warning, Message = "The Azure Blob storage is unavailable: {Reason}")]
    public static partial void Unavailable(ILogger logger, string reason, Exception exception);
}
