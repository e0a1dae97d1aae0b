using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace MediaGen.Benchmarks;

/// <summary>
/// Samples allocations by type through the runtime's GC AllocationTick event (one event about every 100 KB allocated,
/// naming the type of the object that crossed the mark), so the sample counts estimate where the bytes go.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, long> _bytes = new(StringComparer.Ordinal);
    private volatile bool _recording;

    public void Start()
    {
        _bytes.Clear();
        _recording = true;
    }

    public IReadOnlyList<(string Type, long Bytes)> Stop()
    {
        _recording = false;
        return _bytes.OrderByDescending(p => p.Value).Select(p => (p.Key, p.Value)).ToList();
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_recording || eventData.EventName is null || !eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.Payload is null)
        {
            return;
        }

        var names = eventData.PayloadNames!;
        string? type = null;
        long amount = 0;
        for (var i = 0; i < names.Count; i++)
        {
            switch (names[i])
            {
                case "TypeName":
                    type = eventData.Payload[i] as string;
                    break;
                case "AllocationAmount64":
                    amount = Convert.ToInt64(eventData.Payload[i], System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "AllocationAmount" when amount == 0:
                    amount = Convert.ToInt64(eventData.Payload[i], System.Globalization.CultureInfo.InvariantCulture);
                    break;
            }
        }

        _bytes.AddOrUpdate(type ?? "?", amount, (_, total) => total + amount);
    }

    public static void Print(string phase, IReadOnlyList<(string Type, long Bytes)> samples, long jobs, int top = 25)
    {
        var total = samples.Sum(s => s.Bytes);
        Console.WriteLine();
        Console.WriteLine($"# {phase}: sampled allocations by type (AllocationTick, ~100 KB granularity), estimated bytes per job");
        Report.Table(
            ["type", "est. B/job", "share"],
            samples.Take(top).Select(s => (IReadOnlyList<string>)[s.Type, Report.N((double)s.Bytes / jobs), Report.N(100.0 * s.Bytes / total, 1) + "%"]));
    }
}
