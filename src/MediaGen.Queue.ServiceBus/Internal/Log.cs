using Microsoft.Extensions.Logging;

namespace MediaGen.ServiceBus.Internal;

/// <summary>The package's log messages. Tokens, keys and connection strings are never logged.</summary>
internal static partial class Log
{
    [LoggerMessage(6001, LogLevel.Information, "Connected to AMQP broker {Host}:{Port}, queue node '{Queue}'.")]
    public static partial void Connected(ILogger logger, string host, int port, string queue);

    [LoggerMessage(6002, LogLevel.Warning, "The AMQP connection closed (condition {Condition}): {Description}. The next operation reconnects.")]
    public static partial void ConnectionClosed(ILogger logger, string condition, string? description);

    [LoggerMessage(6003, LogLevel.Warning, "Connecting to the AMQP broker failed (attempt {Attempt}); the next attempt waits {Delay}.")]
    public static partial void ConnectFailed(ILogger logger, int attempt, TimeSpan delay, Exception exception);

    [LoggerMessage(6004, LogLevel.Debug, "Put {Count} shared access signature(s) to $cbs, valid until {ExpiresAt:O}.")]
    public static partial void TokensPut(ILogger logger, int count, DateTimeOffset expiresAt);

    [LoggerMessage(6005, LogLevel.Warning, "Refreshing the shared access signatures failed; the next refresh tries again.")]
    public static partial void TokenRefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(6006, LogLevel.Warning, "Message {MessageId} is not a MediaGen job message and was dead-lettered: {Problem}")]
    public static partial void MalformedMessage(ILogger logger, string? messageId, string problem);

    [LoggerMessage(6007, LogLevel.Debug, "A buffered delivery of message {MessageId} had passed its lock before it was handed out and was returned.")]
    public static partial void ExpiredBeforeHandout(ILogger logger, string messageId);

    [LoggerMessage(6008, LogLevel.Debug, "The lease on message {MessageId} had expired when it was settled; the outcome was sent but may be ignored.")]
    public static partial void StaleSettlement(ILogger logger, string messageId);

    [LoggerMessage(6009, LogLevel.Warning, "Reading the dead-letter queue failed while opening its link; trying once more.")]
    public static partial void DeadLetterBrowseRetried(ILogger logger, Exception exception);
}
