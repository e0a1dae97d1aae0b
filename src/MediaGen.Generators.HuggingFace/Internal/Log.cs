using Microsoft.Extensions.Logging;

namespace MediaGen.Generators.HuggingFace.Internal;

/// <summary>The Hugging Face generator's log messages. Prompts, inputs, provider error texts and tokens appear only at Trace.</summary>
internal static partial class Log
{
    [LoggerMessage(5201, LogLevel.Information, "Hugging Face generated an image of {Bytes} bytes for job {JobId} on model {ModelId}.")]
    public static partial void ImageGenerated(ILogger logger, string jobId, string modelId, long bytes);

    [LoggerMessage(5202, LogLevel.Information, "Hugging Face {Subject} is loading; retrying in {Delay} (retry {Retry} of {MaxRetries}).")]
    public static partial void ModelLoading(ILogger logger, string subject, TimeSpan delay, int retry, int maxRetries);

    [LoggerMessage(5205, LogLevel.Warning, "Hugging Face refused a call for {Subject} with {Status} ({ErrorCode}).")]
    public static partial void CallFailed(ILogger logger, string subject, int status, string errorCode);

    [LoggerMessage(5206, LogLevel.Trace, "Hugging Face request for job {JobId}: {Body}")]
    public static partial void RequestBody(ILogger logger, string jobId, string body);
}
