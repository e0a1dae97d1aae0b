namespace MediaGen.Samples.Worker;

internal static partial class WorkerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "MediaGen sample worker: queue {QueueProvider}, storage {StorageProvider}")]
    public static partial void Started(ILogger logger, string queueProvider, string storageProvider);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "The queue is in-memory (MediaGen:Queue:Provider = InMemory): nothing can reach it from another process, so this worker will stay idle. Set MediaGen:Queue:Provider to a shared queue such as Redis.")]
    public static partial void InMemoryQueue(ILogger logger);
}
