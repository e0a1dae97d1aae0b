using Microsoft.Extensions.Logging;

namespace MediaGen.AspNetCore.Internal;

internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "MediaGen API {Method} {Path} failed")]
    public static partial void EndpointFailed(ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "The event stream of job {JobId} ended early")]
    public static partial void EventStreamFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "The read URL of output {Index} of job {JobId} could not be signed; the response carries the one stored with the output")]
    public static partial void ReadUrlFailed(ILogger logger, string jobId, int index, Exception exception);
}
