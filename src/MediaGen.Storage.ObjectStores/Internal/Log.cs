using Microsoft.Extensions.Logging;

namespace MediaGen.Storage.ObjectStores.Internal;

/// <summary>The object-store storages' log messages.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Debug, Message = "Stored '{Name}' in {Service} {ContainerKind} '{Container}': {Size} bytes in {Chunks} part(s).")]
    public static partial void Stored(ILogger logger, string name, string service, string containerKind, string container, long size, int chunks);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Debug, Message = "Deleted {Count} {ObjectKind} under '{Prefix}' in {Service} {ContainerKind} '{Container}'.")]
    public static partial void DeletedPrefix(ILogger logger, int count, string objectKind, string prefix, string service, string containerKind, string container);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "The {Service} storage is unavailable: {Reason}")]
    public static partial void Unavailable(ILogger logger, string service, string reason, Exception exception);
}
