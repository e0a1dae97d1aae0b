namespace MediaGen.TestSupport;

/// <summary>
/// Notes every MediaGen span that ends, so a test waits for a job's span to end before it flushes an exporter: a job's
/// terminal state is written inside its attempt's span, so seeing the state does not mean the span has ended.
/// </summary>
public sealed class EndedSpans : IDisposable
{
    private readonly ConcurrentDictionary<(string Name, string JobId), TaskCompletionSource> _ended = new();
    private readonly ActivityListener _listener;

    /// <summary>Starts listening to MediaGen's activity source, leaving sampling to the other listeners.</summary>
    public EndedSpans()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == MediaGenTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.None,
            ActivityStopped = activity =>
            {
                if (activity.GetTagItem(MediaGenTelemetry.Tags.JobId) is string jobId)
                {
                    Ended(activity.OperationName, jobId).TrySetResult();
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>Waits until the span named <paramref name="name"/> of job <paramref name="jobId"/> has ended.</summary>
    /// <param name="name">The span name, such as <see cref="MediaGenTelemetry.Spans.Process"/>.</param>
    /// <param name="jobId">The job.</param>
    /// <returns>A task that completes when the span has ended; it fails after <see cref="Waits.Limit"/>.</returns>
    public async Task WaitAsync(string name, string jobId)
    {
        using var limit = new CancellationTokenSource(Waits.Limit);
        await Waits.BoundedAsync(Ended(name, jobId).Task, limit.Token, $"the {name} span of job {jobId} ended");
    }

    /// <inheritdoc />
    public void Dispose() => _listener.Dispose();

    private TaskCompletionSource Ended(string name, string jobId) =>
        _ended.GetOrAdd((name, jobId), _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}
