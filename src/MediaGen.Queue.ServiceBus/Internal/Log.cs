using Microsoft.Extensions.Logging;

namespace MediaGen.ServiceBus.Internal;

/// <summary>The package's log messages. Tokens, keys and connection strings are never logged.</summary>
internal static partial class Log
{
    [LoggerMessage(6001, LogLevel.Information, "Using Service Bus queue '{Queue}' on {Namespace}.")]
    public static partial void Started(ILogger logger, string queue, string @namespace);

    [LoggerMessage(6006, LogLevel.Warning, "Message {MessageId} is not a MediaGen job message and was dead-lettered: {Problem}")]
    public static partial void MalformedMessage(ILogger logger, string? messageId, string problem);

    [LoggerMessage(6008, LogLevel.Debug, "The lock on message {MessageId} was lost before it was settled.")]
    public static partial void LockLost(ILogger logger, string messageId);

    [LoggerMessage(6010, LogLevel.Warning, "Returning message {MessageId} to the queue failed; it becomes receivable again when its lock expires.")]
    public static partial void AbandonFailed(ILogger logger, string messageId, Exception exception);

    [LoggerMessage(6011, LogLevel.Information, "Reading queue depth from the Service Bus administration API is not allowed for this credential; depth figures are reported as -1 from now on.")]
    public static partial void DepthNotAllowed(ILogger logger, Exception exception);

    [LoggerMessage(6012, LogLevel.Debug, "Reading queue depth from the Service Bus administration API failed; reporting -1.")]
    public static partial void DepthFailed(ILogger logger, Exception exception);
}
