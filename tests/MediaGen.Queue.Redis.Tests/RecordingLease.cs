namespace MediaGen.Queue.Redis.Tests;

/// <summary>A lease of some other queue, recording how it was settled.</summary>
internal sealed class RecordingLease(QueueMessage message) : IQueueLease
{
    public List<string> Calls { get; } = [];

    public QueueMessage Message { get; } = message;

    public int DeliveryCount => 1;

    public DateTimeOffset EnqueuedAt => default;

    public DateTimeOffset LockedUntil => default;

    public JobPriority Priority => JobPriority.Normal;

    public ValueTask CompleteAsync(CancellationToken cancellationToken = default) => Record("complete");

    public ValueTask AbandonAsync(TimeSpan delay = default, CancellationToken cancellationToken = default) => Record("abandon " + delay.ToString("c", CultureInfo.InvariantCulture));

    public ValueTask DeadLetterAsync(string reason, string? description = null, CancellationToken cancellationToken = default) => Record("dead " + reason);

    public ValueTask RenewAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private ValueTask Record(string call)
    {
        Calls.Add(call);
        return ValueTask.CompletedTask;
    }
}
