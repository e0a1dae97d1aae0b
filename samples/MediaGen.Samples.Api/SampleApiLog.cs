namespace MediaGen.Samples.Api;

internal static partial class SampleApiLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "MediaGen sample API: queue {QueueProvider}, storage {StorageProvider}, in-process worker {WorkerEnabled}, owners: {OwnerMode}")]
    public static partial void Started(ILogger logger, string queueProvider, string storageProvider, bool workerEnabled, string ownerMode);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "The queue is in-memory and MediaGen:Worker:Enabled is false: no process can run the jobs this API accepts")]
    public static partial void InMemoryWithoutWorker(ILogger logger);
}
