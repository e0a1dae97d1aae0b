using Microsoft.Extensions.Logging;

namespace MediaGen.PostgreSql.Internal;

/// <summary>The PostgreSQL adapter's log messages. Event ids are stable.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Applied MediaGen's PostgreSQL migration {Migration} to schema {Schema}.")]
    public static partial void MigrationApplied(ILogger logger, string migration, string schema);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "The notification listener of schema {Schema} lost its connection; opening it again in the background.")]
    public static partial void ListenerFailed(ILogger logger, string schema, Exception exception);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Information, Message = "The notification listener of schema {Schema} is connected again.")]
    public static partial void ListenerReconnected(ILogger logger, string schema);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "Subscribing to the queue's wake-up notifications failed; receives fall back to checking every {Interval}.")]
    public static partial void WakeSubscriptionFailed(ILogger logger, TimeSpan interval, Exception exception);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Debug, Message = "Returning unsettled queue message {MessageId} on dispose failed; it is redelivered when its lease expires.")]
    public static partial void ReturnOnDisposeFailed(ILogger logger, string messageId, Exception exception);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Warning, Message = "A job event on channel {Channel} cannot be read and was skipped.")]
    public static partial void MalformedEventSkipped(ILogger logger, string channel, Exception? exception);

    [LoggerMessage(EventId = 3107, Level = LogLevel.Debug, Message = "The lease on job {JobId}'s message was no longer held when its step was committed; the step was applied and the message finds the job as it left it.")]
    public static partial void LifecycleLeaseLost(ILogger logger, string jobId);

    [LoggerMessage(EventId = 3108, Level = LogLevel.Warning, Message = "Settling the lease of job {JobId} through its own queue failed after the step was committed; the message comes back and finds the job as the step left it.")]
    public static partial void LifecycleLeaseSettleFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(EventId = 3109, Level = LogLevel.Warning, Message = "A {Type} event of job {JobId} is larger than a notification can carry even shortened, and was not published.")]
    public static partial void EventTooLarge(ILogger logger, JobEventType type, string jobId);

    [LoggerMessage(EventId = 3110, Level = LogLevel.Error, Message = "The terminal webhook delivery {DeliveryId} of job {JobId} could not be written to the outbox after its step committed, and is lost.")]
    public static partial void WebhookNotStored(ILogger logger, string jobId, string deliveryId, Exception exception);
}
