using Microsoft.Extensions.Logging;

namespace MediaGen.Queue.Redis.Internal;

/// <summary>The Redis adapter's log messages. Event ids are stable.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "The Redis connection to {EndPoint} failed ({FailureType}); retrying in the background.")]
    public static partial void ConnectionFailed(ILogger logger, string endPoint, string failureType, Exception? exception);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "The Redis connection to {EndPoint} was restored.")]
    public static partial void ConnectionRestored(ILogger logger, string endPoint);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Queue message {MessageId} cannot be read as a MediaGen job message and was dead-lettered with reason malformed_message.")]
    public static partial void MalformedMessageDeadLettered(ILogger logger, string messageId, Exception? exception);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Subscribing to the queue's wake-up notifications failed; receives fall back to checking every {Interval}.")]
    public static partial void WakeSubscriptionFailed(ILogger logger, TimeSpan interval, Exception exception);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Debug, Message = "Returning unsettled queue message {MessageId} on dispose failed; it is redelivered when its lease expires.")]
    public static partial void ReturnOnDisposeFailed(ILogger logger, string messageId, Exception exception);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "A job event on channel {Channel} cannot be read and was skipped.")]
    public static partial void MalformedEventSkipped(ILogger logger, string channel, Exception? exception);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Debug, Message = "The lease on job {JobId}'s message was no longer held when its step was committed; the step was applied and the message finds the job as it left it.")]
    public static partial void LifecycleLeaseLost(ILogger logger, string jobId);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning, Message = "Settling the lease of job {JobId} through its own queue failed after the step was committed; the message comes back and finds the job as the step left it.")]
    public static partial void LifecycleLeaseSettleFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Error, Message = "The terminal webhook delivery {DeliveryId} of job {JobId} could not be written to the outbox after its step committed, and is lost.")]
    public static partial void WebhookNotStored(ILogger logger, string jobId, string deliveryId, Exception exception);
}
