using System.Diagnostics;

namespace MediaGen.Internal;

/// <summary>Marks a MediaGen span as failed the one way: error status, <c>error.type</c>, and the exception as an event.</summary>
internal static class SpanFailure
{
    /// <summary>Records a failure described by a stable error code, with the exception that caused it when there is one.</summary>
    public static void Record(Activity? activity, string errorType, string? description, Exception? exception)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, description);
        activity.SetTag(MediaGenTelemetry.Tags.ErrorType, errorType);
        if (exception is not null)
        {
            activity.AddException(exception);
        }
    }

    /// <summary>Records an exception that ends the span's work: its stable error code, else its type, is the error type.</summary>
    public static void Record(Activity? activity, Exception exception) =>
        Record(activity, exception is MediaGenException known ? known.ErrorCode : exception.GetType().FullName ?? exception.GetType().Name, exception.Message, exception);
}
