using Microsoft.Extensions.Logging;

namespace MediaGen.Generators.Replicate.Internal;

/// <summary>The Replicate generator's log messages. Prompts, inputs, provider error texts and tokens appear only at Trace.</summary>
internal static partial class Log
{
    [LoggerMessage(5101, LogLevel.Information, "Created Replicate prediction {PredictionId} for job {JobId} on model {ModelId}.")]
    public static partial void PredictionCreated(ILogger logger, string predictionId, string jobId, string modelId);

    [LoggerMessage(5102, LogLevel.Information, "Resuming Replicate prediction {PredictionId} for job {JobId} (attempt {Attempt}, status {Status}).")]
    public static partial void PredictionResumed(ILogger logger, string predictionId, string jobId, int attempt, string status);

    [LoggerMessage(5103, LogLevel.Warning, "Replicate prediction {PredictionId} saved by job {JobId} cannot be resumed ({Reason}); creating a new one.")]
    public static partial void PredictionNotResumable(ILogger logger, string predictionId, string jobId, string reason);

    [LoggerMessage(5104, LogLevel.Information, "Replicate prediction {PredictionId} for job {JobId} succeeded with {OutputCount} outputs.")]
    public static partial void PredictionSucceeded(ILogger logger, string predictionId, string jobId, int outputCount);

    [LoggerMessage(5105, LogLevel.Warning, "Replicate prediction {PredictionId} for job {JobId} ended {Status} ({ErrorCode}).")]
    public static partial void PredictionFailed(ILogger logger, string predictionId, string jobId, string status, string errorCode);

    [LoggerMessage(5106, LogLevel.Warning, "Replicate rate-limited a {Operation} call; pausing every Replicate call in this process for {Pause}.")]
    public static partial void RateLimited(ILogger logger, string operation, TimeSpan pause);

    [LoggerMessage(5107, LogLevel.Information, "Retrying a Replicate {Operation} call in {Delay} (retry {Retry} of {MaxRetries}).")]
    public static partial void RetryingCall(ILogger logger, string operation, TimeSpan delay, int retry, int maxRetries);

    [LoggerMessage(5108, LogLevel.Information, "Canceled Replicate prediction {PredictionId} of job {JobId} so it is not paid for.")]
    public static partial void PredictionCanceled(ILogger logger, string predictionId, string jobId);

    [LoggerMessage(5109, LogLevel.Warning, "Could not cancel Replicate prediction {PredictionId} of job {JobId}; it may run to completion.")]
    public static partial void CancelFailed(ILogger logger, Exception exception, string predictionId, string jobId);

    [LoggerMessage(5110, LogLevel.Trace, "Replicate input for job {JobId}: {Input}")]
    public static partial void PredictionInput(ILogger logger, string jobId, string input);

    [LoggerMessage(5111, LogLevel.Trace, "Replicate answered a {Operation} call with {Status}: {ErrorText}")]
    public static partial void ProviderErrorText(ILogger logger, string operation, int status, string errorText);

    [LoggerMessage(5112, LogLevel.Trace, "Replicate prediction {PredictionId} failed on the model side: {ErrorText}")]
    public static partial void PredictionErrorText(ILogger logger, string predictionId, string errorText);

    [LoggerMessage(5113, LogLevel.Warning, "A Replicate create for job {JobId} on model {ModelId} may or may not have made a prediction; looking it up in {Delay} before creating again.")]
    public static partial void CreateUnconfirmed(ILogger logger, string jobId, string modelId, TimeSpan delay);

    [LoggerMessage(5114, LogLevel.Information, "Found Replicate prediction {PredictionId} that an unconfirmed create made for job {JobId}; resuming it instead of paying again.")]
    public static partial void PredictionFound(ILogger logger, string predictionId, string jobId);

    [LoggerMessage(5115, LogLevel.Warning, "No Replicate prediction lists the input of job {JobId}'s create sent at {StartedAt}; creating one.")]
    public static partial void UnconfirmedCreateNotFound(ILogger logger, string jobId, DateTimeOffset startedAt);

    [LoggerMessage(5116, LogLevel.Warning, "Replicate model {ModelId}: {Setting} is {Catalog} in MediaGen's catalog but {Live} in the live schema.")]
    public static partial void CatalogDisagrees(ILogger logger, string modelId, string setting, string catalog, string live);

    [LoggerMessage(5117, LogLevel.Warning, "The Replicate catalog could not be checked against the live schemas.")]
    public static partial void CatalogNotVerified(ILogger logger, Exception exception);
}
