using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using MediaGen.Internal;
using Microsoft.Extensions.Options;

namespace MediaGen.AspNetCore.Internal.Dashboard;

/// <summary>
/// Throughput and failure rate per model over the last minutes, counted from MediaGen's own meter in this process: a
/// <see cref="MeterListener"/> on <c>mediagen.job.succeeded</c> and <c>mediagen.job.failed</c> (tagged with
/// <c>mediagen.model</c>), in one bucket per minute of the <see cref="TimeProvider"/>. Only the meter of this host's
/// container is heard (another host in the same process has its own), and only jobs finished by workers of this
/// process are counted.
/// </summary>
internal sealed class DashboardThroughput : IDisposable
{
    private const string ModelTag = MediaGenTelemetry.Tags.Model;
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(long Minute, string Model), Counts> _buckets = new();
    private readonly TimeProvider _time;
    private readonly int _minutes;

    public DashboardThroughput(IMeterFactory meterFactory, TimeProvider timeProvider, IOptions<MediaGenerationDashboardOptions> options)
    {
        _time = timeProvider;
        _minutes = options.Value.ThroughputMinutes;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == MediaGenTelemetry.MeterName
                && ReferenceEquals(instrument.Meter.Scope, meterFactory)
                && instrument.Name is MediaGenTelemetry.Instruments.JobSucceeded or MediaGenTelemetry.Instruments.JobFailed)
            {
                listener.EnableMeasurementEvents(instrument, instrument.Name == MediaGenTelemetry.Instruments.JobFailed);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    /// <summary>Per model, newest minute last: finished jobs in each of the last minutes, and the totals.</summary>
    public IReadOnlyList<ModelThroughput> Read()
    {
        var now = Minute();
        var oldest = now - _minutes + 1;
        foreach (var key in _buckets.Keys)
        {
            if (key.Minute < oldest)
            {
                _buckets.TryRemove(key, out _);
            }
        }

        return _buckets
            .Where(b => b.Key.Minute >= oldest)
            .GroupBy(b => b.Key.Model, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g =>
            {
                var succeeded = new long[_minutes];
                var failed = new long[_minutes];
                foreach (var (key, counts) in g)
                {
                    var i = (int)(key.Minute - oldest);
                    succeeded[i] = Volatile.Read(ref counts.Succeeded);
                    failed[i] = Volatile.Read(ref counts.Failed);
                }

                var total = succeeded.Sum() + failed.Sum();
                return new ModelThroughput(g.Key, succeeded.Sum(), failed.Sum(), total == 0 ? 0 : (double)failed.Sum() / total, succeeded, failed);
            })
            .ToList();
    }

    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? failed)
    {
        var model = "unknown";
        foreach (var tag in tags)
        {
            if (tag.Key == ModelTag && tag.Value is string name)
            {
                model = name;
            }
        }

        var counts = _buckets.GetOrAdd((Minute(), model), static _ => new Counts());
        if (failed is true)
        {
            Interlocked.Add(ref counts.Failed, value);
        }
        else
        {
            Interlocked.Add(ref counts.Succeeded, value);
        }
    }

    private long Minute() => _time.GetUtcNow().ToUnixTimeSeconds() / 60;

    private sealed class Counts
    {
        public long Succeeded;
        public long Failed;
    }
}

/// <summary>One model's finished jobs over the dashboard's window.</summary>
/// <param name="Model">The model.</param>
/// <param name="Succeeded">Jobs that succeeded in the window.</param>
/// <param name="Failed">Jobs that failed for good in the window.</param>
/// <param name="FailureRate">Failed over finished, 0 to 1.</param>
/// <param name="SucceededPerMinute">Succeeded jobs in each minute, oldest first.</param>
/// <param name="FailedPerMinute">Failed jobs in each minute, oldest first.</param>
internal sealed record ModelThroughput(string Model, long Succeeded, long Failed, double FailureRate, long[] SucceededPerMinute, long[] FailedPerMinute);
