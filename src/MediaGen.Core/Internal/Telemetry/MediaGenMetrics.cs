using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MediaGen.Internal;

/// <summary>
/// MediaGen's one <see cref="Meter"/> and one <see cref="ActivitySource"/>, both named <c>MediaGen</c>. Tags are low
/// cardinality only: model, generator, outcome, error code; never job ids or prompts.
/// </summary>
internal sealed class MediaGenMetrics : IDisposable
{
    public const string Name = "MediaGen";

    private readonly Meter _meter;
    private QueueDepth _depth = new(-1, -1, -1, -1);

    public MediaGenMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(Name);
        ActivitySource = new ActivitySource(Name);
        Submitted = _meter.CreateCounter<long>("mediagen.job.submitted", "{job}", "Jobs accepted by submission.");
        Started = _meter.CreateCounter<long>("mediagen.job.started", "{attempt}", "Attempts started by workers.");
        Succeeded = _meter.CreateCounter<long>("mediagen.job.succeeded", "{job}", "Jobs that succeeded.");
        Failed = _meter.CreateCounter<long>("mediagen.job.failed", "{job}", "Jobs that failed for good.");
        Canceled = _meter.CreateCounter<long>("mediagen.job.canceled", "{job}", "Jobs canceled by their owner.");
        Retried = _meter.CreateCounter<long>("mediagen.job.retried", "{attempt}", "Attempts that failed and were scheduled again.");
        ThumbnailsFailed = _meter.CreateCounter<long>("mediagen.thumbnail.failed", "{output}", "Outputs whose thumbnail could not be made (the output is kept).");
        Blocked = _meter.CreateCounter<long>("mediagen.submission.blocked", "{request}", "Submissions refused by a content moderator.");
        Rerun = _meter.CreateCounter<long>("mediagen.job.rerun", "{job}", "Failed or canceled jobs retried as a new run (by their owner or a dead-letter replay).");
        DeadLettered = _meter.CreateCounter<long>("mediagen.job.dead_lettered", "{message}", "Messages moved to the dead-letter store.");
        OutputsFailed = _meter.CreateCounter<long>("mediagen.output.failed", "{output}", "Outputs a succeeded job's generator could not deliver (refunded).");
        CacheHits = _meter.CreateCounter<long>("mediagen.cache.hit", "{job}", "Jobs served from the result cache without calling a provider.");
        CacheMisses = _meter.CreateCounter<long>("mediagen.cache.miss", "{request}", "Cacheable submissions the result cache could not serve.");
        CacheErrors = _meter.CreateCounter<long>("mediagen.cache.error", "{request}", "Result cache reads, copies or writes that failed (the request is generated as usual).");
        JobDuration = _meter.CreateHistogram<double>("mediagen.job.duration", "s", "Time from submission to a terminal status.");
        QueueWait = _meter.CreateHistogram<double>("mediagen.queue.wait", "s", "Time from enqueue to the start of an attempt.");
        GenerationDuration = _meter.CreateHistogram<double>("mediagen.generation.duration", "s", "Time a generator took for one attempt.");
        _meter.CreateObservableGauge("mediagen.queue.depth", ObserveDepth, "{message}", "Messages in the queue by state.");
    }

    public ActivitySource ActivitySource { get; }

    public Counter<long> Submitted { get; }

    public Counter<long> Started { get; }

    public Counter<long> Succeeded { get; }

    public Counter<long> Failed { get; }

    public Counter<long> Canceled { get; }

    public Counter<long> Retried { get; }

    public Counter<long> Rerun { get; }

    public Counter<long> Blocked { get; }

    public Counter<long> ThumbnailsFailed { get; }

    public Counter<long> DeadLettered { get; }

    public Counter<long> OutputsFailed { get; }

    public Counter<long> CacheHits { get; }

    public Counter<long> CacheMisses { get; }

    public Counter<long> CacheErrors { get; }

    public Histogram<double> JobDuration { get; }

    public Histogram<double> QueueWait { get; }

    public Histogram<double> GenerationDuration { get; }

    /// <summary>Records the latest depth figures; the gauge reports them when observed.</summary>
    public void SetQueueDepth(QueueDepth depth) => _depth = depth;

    public void Dispose()
    {
        ActivitySource.Dispose();
        _meter.Dispose();
    }

    private IEnumerable<Measurement<long>> ObserveDepth()
    {
        var depth = _depth;
        if (depth.Ready < 0 && depth.Delayed < 0 && depth.Leased < 0 && depth.DeadLettered < 0)
        {
            yield break;
        }

        if (depth.Ready >= 0)
        {
            yield return new Measurement<long>(depth.Ready, new KeyValuePair<string, object?>("state", "ready"));
        }

        if (depth.Delayed >= 0)
        {
            yield return new Measurement<long>(depth.Delayed, new KeyValuePair<string, object?>("state", "delayed"));
        }

        if (depth.Leased >= 0)
        {
            yield return new Measurement<long>(depth.Leased, new KeyValuePair<string, object?>("state", "leased"));
        }

        if (depth.DeadLettered >= 0)
        {
            yield return new Measurement<long>(depth.DeadLettered, new KeyValuePair<string, object?>("state", "dead_lettered"));
        }
    }
}
