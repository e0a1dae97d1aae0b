using MediaGen.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen.AspNetCore.Internal;

/// <summary>
/// Turns MediaGen's records into API responses, filling in read URLs the job does not carry yet. Making a URL absolute
/// never fails a response: a request base that cannot be made into one leaves the URL relative.
/// </summary>
internal sealed class ResponseMapper(IMediaStorage storage, IHttpContextAccessor httpContext, IOptions<MediaGenerationApiOptions> options, ILogger<ResponseMapper> logger)
{
    /// <summary>The job as a response; a read URL the storage cannot sign now fails it (503 while the storage is down).</summary>
    public ValueTask<JobResponse> ToResponseAsync(GenerationJob job, CancellationToken cancellationToken) =>
        ToResponseAsync(job, afterChange: false, cancellationToken);

    /// <summary>
    /// The job as the answer to a request that changed it (created and charged it, charged it again, canceled or replayed
    /// it): an error now would tell the client the change failed when it did not, so an output whose read URL the storage
    /// cannot sign afresh keeps the URL stored with it (signed when it was stored), or none. A later read signs again.
    /// </summary>
    public ValueTask<JobResponse> ToResponseAfterChangeAsync(GenerationJob job, CancellationToken cancellationToken) =>
        ToResponseAsync(job, afterChange: true, cancellationToken);

    private async ValueTask<JobResponse> ToResponseAsync(GenerationJob job, bool afterChange, CancellationToken cancellationToken)
    {
        var outputs = new OutputResponse[job.Outputs.Count];
        for (var i = 0; i < outputs.Length; i++)
        {
            outputs[i] = await ToResponseAsync(job.Outputs[i], afterChange ? job.Id : null, cancellationToken).ConfigureAwait(false);
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
        Output = jobEvent.Output is { } output ? await ToResponseAsync(output, changedJobId: null, cancellationToken).ConfigureAwait(false) : null,
        Error = jobEvent.Error,
    };

    public static ModelResponse ToResponse(ModelDescriptor model) =>
        new(model.Id, model.DisplayName ?? model.Id, model.CostCredits, model.ExpectedDuration.TotalSeconds, model.Settings);

    /// <summary>
    /// An output with read URLs signed afresh. With <paramref name="changedJobId"/> (the job a request just changed), a
    /// storage that cannot sign them leaves the URLs stored with the output instead of failing the response.
    /// </summary>
    private async ValueTask<OutputResponse> ToResponseAsync(JobOutput output, string? changedJobId, CancellationToken cancellationToken)
    {
        Uri? url;
        Uri? thumbnail;
        try
        {
            // Signed (presigned S3, SAS) URLs expire, so every read signs afresh rather than returning the one stored with the job.
            url = await storage.GetReadUrlAsync(output.Key, cancellationToken: cancellationToken).ConfigureAwait(false);
            thumbnail = output.ThumbnailKey is { } key ? await storage.GetReadUrlAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false) : null;
        }
        catch (Exception e) when (changedJobId is not null && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            Log.ReadUrlFailed(logger, changedJobId, output.Index, e);
            (url, thumbnail) = (output.Url, null);
        }

        return new OutputResponse(output.Index, url is null ? null : Absolute(url).OriginalString, output.ContentType, output.Size, output.Width, output.Height, thumbnail is null ? null : Absolute(thumbnail).OriginalString);
    }

    /// <summary><paramref name="url"/> made absolute for the client; left as it is when no base is known or it cannot be resolved.</summary>
    private Uri Absolute(Uri url)
    {
        if (url.IsAbsoluteUri || (options.Value.PublicBaseUrl ?? RequestBase()) is not { } baseUrl)
        {
            return url;
        }

        try
        {
            return PublicMediaUrl.Resolve(baseUrl, url);
        }
        catch (Exception e) when (e is UriFormatException or ArgumentException)
        {
            return url;
        }
    }

    /// <summary>
    /// The request's scheme, host and path base: what the client reached this host at; null when they do not make a URL.
    /// The host is the header as sent, not <see cref="HttpRequest.Host"/>: that decodes punycode, and throws on a host it
    /// cannot decode (<c>Host: xn--</c>), which the server accepts.
    /// </summary>
    private Uri? RequestBase()
    {
        if (httpContext.HttpContext?.Request is not { } request || request.Headers.Host.ToString() is not { Length: > 0 } host)
        {
            return null;
        }

        try
        {
            var text = UriHelper.BuildAbsolute(request.Scheme, new HostString(host), request.PathBase, new PathString("/"));
            return Uri.TryCreate(text, UriKind.Absolute, out var uri) ? uri : null;
        }
        catch (ArgumentException)
        {
            // A host with characters that are not ASCII is encoded to punycode, which can fail.
            return null;
        }
    }
}
