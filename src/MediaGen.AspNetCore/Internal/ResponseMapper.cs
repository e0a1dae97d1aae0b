using MediaGen.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace MediaGen.AspNetCore.Internal;

/// <summary>Turns MediaGen's records into API responses, filling in read URLs the job does not carry yet.</summary>
internal sealed class ResponseMapper(IMediaStorage storage, IHttpContextAccessor httpContext, IOptions<MediaGenerationApiOptions> options)
{
    public async ValueTask<JobResponse> ToResponseAsync(GenerationJob job, CancellationToken cancellationToken)
    {
        var outputs = new OutputResponse[job.Outputs.Count];
        for (var i = 0; i < outputs.Length; i++)
        {
            outputs[i] = await ToResponseAsync(job.Outputs[i], cancellationToken).ConfigureAwait(false);
        }

        var request = job.Request;
        return new JobResponse
        {
            Id = job.Id,
            Status = job.Status,
            Model = request.Model,
            Prompt = request.Prompt,
            NegativePrompt = request.NegativePrompt,
            Settings = request.Settings,
            Parameters = request.Parameters,
            Priority = request.Priority,
            IdempotencyKey = request.IdempotencyKey,
            WebhookUrl = request.WebhookUrl?.ToString(),
            WebhookEventsFilter = request.WebhookUrl is null ? null : WebhookEventNames.Format(request.WebhookEvents),
            Attempt = job.Attempt,
            Run = job.Run,
            Progress = job.Progress,
            ProgressMessage = job.ProgressMessage,
            CreatedAt = job.CreatedAt,
            UpdatedAt = job.UpdatedAt,
            StartedAt = job.StartedAt,
            CompletedAt = job.CompletedAt,
            NextAttemptAt = job.NextAttemptAt,
            Outputs = outputs,
            FailedOutputs = job.FailedOutputs,
            Error = job.Error,
            CreditsCharged = job.CreditsCharged,
            CreditsRefunded = job.CreditsRefunded,
            CancelRequested = job.CancelRequested,
            CacheHit = job.CacheHit,
        };
    }

    public async ValueTask<JobEventResponse> ToResponseAsync(JobEvent jobEvent, CancellationToken cancellationToken) => new()
    {
        Type = jobEvent.Type,
        JobId = jobEvent.JobId,
        Sequence = jobEvent.Sequence > 0 ? jobEvent.Sequence : null,
        Timestamp = jobEvent.Timestamp,
        Status = jobEvent.Status,
        Attempt = jobEvent.Attempt,
        Progress = jobEvent.Progress,
        Message = jobEvent.Message,
        Output = jobEvent.Output is { } output ? await ToResponseAsync(output, cancellationToken).ConfigureAwait(false) : null,
        Error = jobEvent.Error,
    };

    public static ModelResponse ToResponse(ModelDescriptor model) =>
        new(model.Id, model.DisplayName ?? model.Id, model.CostCredits, model.ExpectedDuration.TotalSeconds, model.Settings);

    private async ValueTask<OutputResponse> ToResponseAsync(JobOutput output, CancellationToken cancellationToken)
    {
        // Signed (presigned S3, SAS) URLs expire, so every read signs afresh rather than returning the one stored with the job.
        var url = await storage.GetReadUrlAsync(output.Key, cancellationToken: cancellationToken).ConfigureAwait(false);
        var thumbnail = output.ThumbnailKey is { } key ? await storage.GetReadUrlAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false) : null;
        url = Absolute(url);
        thumbnail = thumbnail is null ? null : Absolute(thumbnail);
        return new OutputResponse(output.Index, url.OriginalString, output.ContentType, output.Size, output.Width, output.Height, thumbnail?.OriginalString);
    }

    private Uri Absolute(Uri url) => PublicMediaUrl.Resolve(url.IsAbsoluteUri ? null : options.Value.PublicBaseUrl ?? RequestBase(), url);

    /// <summary>The request's scheme, host and path base: what the client reached this host at.</summary>
    private Uri? RequestBase()
    {
        var request = httpContext.HttpContext?.Request;
        return request is { Host.HasValue: true } && Uri.TryCreate($"{request.Scheme}://{request.Host}{request.PathBase}/", UriKind.Absolute, out var uri) ? uri : null;
    }
}
