using Microsoft.Extensions.Logging;

namespace MediaGen.Storage.Blob.Internal;

internal static partial class Log
{
    [LoggerMessage(EventId = 4202, Level = LogLevel.Information, Message = "Created the Azure Blob container '{Container}'.")]
    public static partial void ContainerCreated(ILogger logger, string container);
}
