using Microsoft.Extensions.Logging;

namespace MediaGen.Generators.ExtensionsAI.Internal;

/// <summary>The package's log messages. Prompts, provider error texts and image bytes appear only at Trace.</summary>
internal static partial class Log
{
    [LoggerMessage(5301, LogLevel.Information, "Calling image generator {Generator} for job {JobId} on model {ModelId} (attempt {Attempt}, {Count} image(s)).")]
    public static partial void Calling(ILogger logger, string generator, string jobId, string modelId, int attempt, int count);

    [LoggerMessage(5302, LogLevel.Information, "Image generator {Generator} returned {Count} of {Asked} image(s) for job {JobId}.")]
    public static partial void Returned(ILogger logger, string generator, string jobId, int count, int asked);

    [LoggerMessage(5303, LogLevel.Warning, "Image generator {Generator} failed the call for job {JobId} with {Status} ({ErrorCode}); nothing was generated.")]
    public static partial void CallFailed(ILogger logger, string generator, string jobId, int status, string errorCode);

    [LoggerMessage(5304, LogLevel.Warning, "The image call of job {JobId} to {Generator} in attempt {Attempt} may have been paid; failing it as outcome_unknown instead of calling again (refunded: {Refunded}).")]
    public static partial void OutcomeUnknown(ILogger logger, string jobId, string generator, int attempt, bool refunded);

    [LoggerMessage(5305, LogLevel.Information, "Resuming the {Count} image(s) of job {JobId} from the URLs attempt {Attempt} saved, without calling {Generator} again.")]
    public static partial void Resuming(ILogger logger, string jobId, int count, int attempt, string generator);

    [LoggerMessage(5306, LogLevel.Trace, "Image generator {Generator} failed the call for job {JobId}: {ErrorText}")]
    public static partial void ErrorText(ILogger logger, string generator, string jobId, string errorText);

    [LoggerMessage(5307, LogLevel.Warning, "The image call of job {JobId} to {Generator} failed ({Reason}) and its outcome is unknown; calling again, since the generator is declared idempotent.")]
    public static partial void RetryingUnknownOutcome(ILogger logger, string jobId, string generator, string reason);

    [LoggerMessage(5308, LogLevel.Warning, "Saving where the image call of job {JobId} stands failed; a later attempt will treat the call as possibly paid.")]
    public static partial void CheckpointFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(5310, LogLevel.Debug, "Submitted job {JobId} on model {ModelId} for an image generation call.")]
    public static partial void FacadeSubmitted(ILogger logger, string jobId, string modelId);

    [LoggerMessage(5311, LogLevel.Information, "The caller stopped waiting for job {JobId}; asked to cancel it.")]
    public static partial void FacadeCanceled(ILogger logger, string jobId);

    [LoggerMessage(5312, LogLevel.Warning, "Canceling job {JobId} after its caller stopped waiting failed.")]
    public static partial void FacadeCancelFailed(ILogger logger, Exception exception, string jobId);
}
