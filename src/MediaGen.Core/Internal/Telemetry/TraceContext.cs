using System.Diagnostics;

namespace MediaGen.Internal;

/// <summary>Carries the W3C trace context inside queue messages, so a job's trace spans the API and the worker.</summary>
internal static class TraceContext
{
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";

    public static IReadOnlyDictionary<string, string>? Capture(Activity? activity)
    {
        if (activity is null || activity.IdFormat != ActivityIdFormat.W3C)
        {
            return null;
        }

        var headers = new Dictionary<string, string>(2, StringComparer.Ordinal) { [TraceParent] = activity.Id! };
        if (!string.IsNullOrEmpty(activity.TraceStateString))
        {
            headers[TraceState] = activity.TraceStateString;
        }

        return headers;
    }

    public static ActivityContext Extract(QueueMessage message)
    {
        if (message.Headers is { } headers
            && headers.TryGetValue(TraceParent, out var parent)
            && ActivityContext.TryParse(parent, headers.GetValueOrDefault(TraceState), isRemote: true, out var context))
        {
            return context;
        }

        return default;
    }
}
