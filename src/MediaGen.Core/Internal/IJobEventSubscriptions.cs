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
}
