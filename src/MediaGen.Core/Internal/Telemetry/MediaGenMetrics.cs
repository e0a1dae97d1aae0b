using System.Diagnostics;
using System.Diagnostics.Metrics;
using Instruments = MediaGen.MediaGenTelemetry.Instruments;

namespace MediaGen.Internal;

/// <summary>
/// MediaGen's one <see cref="Meter"/> and one <see cref="ActivitySource"/>, both named <c>MediaGen</c>. Tags are low
/// cardinality only: model, generator, outcome, error code; never job ids or prompts.
/// </summary>
internal sealed class MediaGenMetrics : IDisposable
{
    public const string Name = MediaGenTelemetry.MeterName;

    /// <summary>
    /// Bucket boundaries for the seconds histograms, from 5 ms to an hour: exporters' defaults suit milliseconds and would put
    /// every job in one bucket. Advice only: a view configured by the application wins.
    /// </summary>
    private static readonly InstrumentAdvice<double> SecondsAdvice = new()
    {
        HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    };

    private readonly Meter _meter;
    private QueueDepth _depth = new(-1, -1, -1, -1);

    public MediaGenMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(Name);
        ActivitySource = new ActivitySource(MediaGenTelemetry.ActivitySourceName);
        Submitted = _meter.CreateCounter<long>(Instruments.JobSubmitted, "{job}", "Jobs accepted by submission.");
        Started = _meter.CreateCounter<long>(Instruments.JobStarted, "{attempt}", "Attempts started by workers.");
        Succeeded = _meter.CreateCounter<long>(Instruments.JobSucceeded, "{job}", "Jobs that succeeded.");
        Failed = _meter.CreateCounter<long>(Instruments.JobFailed, "{job}", "Jobs that failed for good.");
        Canceled = _meter.CreateCounter<long>(Instruments.JobCanceled, "{job}", "Jobs canceled by their owner.");
        Retried = _meter.CreateCounter<long>(Instruments.JobRetried, "{attempt}", "Attempts that failed and were scheduled again.");
        ThumbnailsFailed = _meter.CreateCounter<long>(Instruments.ThumbnailFailed, "{output}", "Outputs whose thumbnail could not be made (the output is kept).");
        Blocked = _meter.CreateCounter<long>(Instruments.SubmissionBlocked, "{request}", "Submissions refused by a content moderator.");
        Rerun = _meter.CreateCounter<long>(Instruments.JobRerun, "{job}", "Failed or canceled jobs retried as a new run (by their owner or a dead-letter replay).");
        DeadLettered = _meter.CreateCounter<long>(Instruments.JobDeadLettered, "{message}", "Messages moved to the dead-letter store.");
        OutputsFailed = _meter.CreateCounter<long>(Instruments.OutputFailed, "{output}", "Outputs a succeeded job's generator could not deliver (refunded).");
        CacheHits = _meter.CreateCounter<long>(Instruments.CacheHit, "{job}", "Jobs served from the result cache without calling a provider.");
        CacheMisses = _meter.CreateCounter<long>(Instruments.CacheMiss, "{request}", "Cacheable submissions the result cache could not serve.");
        CacheErrors = _meter.CreateCounter<long>(Instruments.CacheError, "{request}", "Result cache reads, copies or writes that failed (the request is generated as usual).");
        JobDuration = _meter.CreateHistogram<double>(Instruments.JobDuration, "s", "Time from submission to a terminal status.", tags: null, SecondsAdvice);
        QueueWait = _meter.CreateHistogram<double>(Instruments.QueueWait, "s", "Time from enqueue to the start of an attempt.", tags: null, SecondsAdvice);
        GenerationDuration = _meter.CreateHistogram<double>(Instruments.GenerationDuration, "s", "Time a generator took for one attempt.", tags: null, SecondsAdvice);
        _meter.CreateObservableGauge(Instruments.QueueDepth, ObserveDepth, "{message}", "Messages in the queue by state.");
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
            yield return new Measurement<long>(depth.Ready, new KeyValuePair<string, object?>(MediaGenTelemetry.Tags.QueueState, "ready"));
        }

        if (depth.Delayed >= 0)
        {
            yield return new Measurement<long>(depth.Delayed, new KeyValuePair<string, object?>(MediaGenTelemetry.Tags.QueueState, "delayed"));
        }

        if (depth.Leased >= 0)
        {
            yield return new Measurement<long>(depth.Leased, new KeyValuePair<string, object?>(MediaGenTelemetry.Tags.QueueState, "leased"));
        }

        if (depth.DeadLettered >= 0)
        {
            yield return new Measurement<long>(depth.DeadLettered, new KeyValuePair<string, object?>(MediaGenTelemetry.Tags.QueueState, "dead_lettered"));
        }
    }
}
