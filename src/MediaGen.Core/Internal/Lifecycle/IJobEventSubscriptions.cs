namespace MediaGen.Internal;

/// <summary>
/// Implemented by event streams that know, in this process, whether anyone listens to a job, so publishers can skip
/// building events nobody will read. Streams that cannot know (a cross-process transport) do not implement it, and
/// every event is published.
/// </summary>
internal interface IJobEventSubscriptions
{
    bool HasSubscribers(string jobId);
}

/// <summary>Publishes through an <see cref="IJobEventStream"/>, skipping the event when nobody can be listening.</summary>
internal static class JobEventPublishing
{
    public static bool IsWorthPublishing(this IJobEventStream events, string jobId) =>
        events is not IJobEventSubscriptions subscriptions || subscriptions.HasSubscribers(jobId);

    /// <summary>Publishes what happened to <paramref name="job"/>, as it stands now; builds nothing when nobody listens.</summary>
    public static ValueTask PublishJobEventAsync(
        this IJobEventStream events,
        GenerationJob job,
        JobEventType type,
        DateTimeOffset timestamp,
        JobError? error = null,
        JobOutput? output = null,
        double? progress = null,
        string? message = null) =>
        !events.IsWorthPublishing(job.Id)
            ? ValueTask.CompletedTask
            : events.PublishAsync(Build(job, type, timestamp, error, output, progress, message), CancellationToken.None);

    /// <summary>The event that says <paramref name="type"/> happened to <paramref name="job"/>, as it stands now.</summary>
    public static JobEvent Build(
        GenerationJob job,
        JobEventType type,
        DateTimeOffset timestamp,
        JobError? error = null,
        JobOutput? output = null,
        double? progress = null,
        string? message = null) => new()
        {
            JobId = job.Id,
            OwnerId = job.OwnerId,
            Type = type,
            Timestamp = timestamp,
            Status = job.Status,
            Attempt = job.Attempt,
            Output = output,
            Error = error,
            Progress = progress,
            Message = message,
        };
}
