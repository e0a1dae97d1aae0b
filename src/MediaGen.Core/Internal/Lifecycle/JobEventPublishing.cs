namespace MediaGen.Internal;

/// <summary>Builds job events and publishes them through an <see cref="IJobEventStream"/>.</summary>
internal static class JobEventPublishing
{
    /// <summary>Publishes what happened to <paramref name="job"/>, as it stands now.</summary>
    public static ValueTask PublishJobEventAsync(
        this IJobEventStream events,
        GenerationJob job,
        JobEventType type,
        DateTimeOffset timestamp,
        JobError? error = null,
        JobOutput? output = null,
        double? progress = null,
        string? message = null) =>
        events.PublishAsync(Build(job, type, timestamp, error, output, progress, message), CancellationToken.None);

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
