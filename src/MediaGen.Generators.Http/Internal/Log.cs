using Microsoft.Extensions.Logging;

namespace MediaGen.Generators.Http.Internal;

/// <summary>The kit's log messages. Provider error texts appear only at Trace; tokens never.</summary>
internal static partial class Log
{
    [LoggerMessage(5001, LogLevel.Warning, "{Provider} rate-limited a {Operation} call; pausing every call to this provider in this process for {Pause}.")]
    public static partial void RateLimited(ILogger logger, string provider, string operation, TimeSpan pause);

    [LoggerMessage(5002, LogLevel.Information, "Retrying a {Provider} {Operation} call in {Delay} (retry {Retry} of {MaxRetries}).")]
    public static partial void RetryingCall(ILogger logger, string provider, string operation, TimeSpan delay, int retry, int maxRetries);

    [LoggerMessage(5003, LogLevel.Trace, "{Provider} answered a {Operation} call with {Status}: {ErrorText}")]
    public static partial void ProviderErrorText(ILogger logger, string provider, string operation, int status, string errorText);
}
