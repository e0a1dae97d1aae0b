// IImageGenerator and ImageGenerationRequest are experimental in Microsoft.Extensions.AI 10.x (MEAI001); this type exists to call them.
#pragma warning disable MEAI001

using System.Drawing;
using System.Text.Json;
using MediaGen.Generators.Http;
using MediaGen.Shared;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen.Generators.ExtensionsAI.Internal;

/// <summary>
/// Serves a Microsoft.Extensions.AI <see cref="IImageGenerator"/> as MediaGen models. One attempt makes at most one call,
/// and the checkpoint says where it stands: <see cref="ImageCallState.Calling"/> is saved before the call, so an attempt
/// that finds it (after a crash, a timeout, a lost connection) knows the provider may have been paid and fails the job as
/// <see cref="MediaGenErrorCodes.OutcomeUnknown"/> instead of paying again, unless the generator is declared idempotent.
/// A failure that proves nothing was generated saves <see cref="ImageCallState.NothingGenerated"/> and is retried or
/// failed as classified; images returned as URLs are saved as <see cref="ImageCallState.Generated"/>, so a later attempt
/// downloads them instead of calling.
/// </summary>
internal sealed class ExtensionsAIMediaGenerator : IMediaGenerator, IDisposable
{
    private readonly ExtensionsAIGeneratorOptions _options;
    private readonly IImageGenerator _generator;
    private readonly bool _ownsGenerator;
    private readonly ProviderRateGate _gate;
    private readonly Func<HttpClient> _httpClient;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IReadOnlyDictionary<string, ImageModel> _models;

    public ExtensionsAIMediaGenerator(
        string name,
        ExtensionsAIGeneratorOptions options,
        IImageGenerator generator,
        bool ownsGenerator,
        ProviderRateGate gate,
        Func<HttpClient> httpClient,
        TimeProvider timeProvider,
        ILogger<ExtensionsAIMediaGenerator> logger)
    {
        Name = name;
        _options = options;
        _generator = generator;
        _ownsGenerator = ownsGenerator;
        _gate = gate;
        _httpClient = httpClient;
        _time = timeProvider;
        _logger = logger;
        _models = ImageModelCatalog.Build(name, options, out var errors);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(name, typeof(ExtensionsAIGeneratorOptions), errors);
        }

        Models = [.. _models.Values.Select(m => m.Descriptor)];
    }

    public string Name { get; }

    public IReadOnlyList<ModelDescriptor> Models { get; }

    public async ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!_models.TryGetValue(context.Model.Id, out var model))
        {
            throw GenerationException.Permanent($"Image generator '{Name}' does not serve model '{context.Model.Id}'.");
        }

        ProviderModelCatalog.ThrowIfInvalid(model.Descriptor, context.Request);

        var job = context.Job;
        var saved = ImageCallCheckpoint.Parse(context.ExistingCheckpoint, job.Attempt);
        if (saved is { State: ImageCallState.Generated, Outputs: { } generated })
        {
            Log.Resuming(_logger, job.Id, generated.Count, saved.Attempt, Name);
            var resumed = new List<(int Index, GeneratedOutput Output)>(generated.Count);
            var refusedUrls = new List<OutputFailure>();
            foreach (var output in generated)
            {
                AddDownload(output, job.Id, resumed, refusedUrls);
            }

            return Result(job, resumed, context.Request.GetOutputCount(), refusedUrls);
        }

        if (saved is { State: ImageCallState.Calling } && !_options.IsIdempotent)
        {
            throw OutcomeUnknown(job, saved.Attempt, "the attempt that made it stopped before its outcome was stored (the process stopped, the attempt timed out, or storing the images failed)", null);
        }

        using var aborted = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context.JobAborted);
        await _gate.WaitAsync(Name, aborted.Token).ConfigureAwait(false);
        var asked = context.Request.GetOutputCount();
        var request = new ImageGenerationRequest(context.Request.Prompt);
        var options = BuildOptions(model, context);
        await SaveAsync(context, new ImageCallCheckpoint(ImageCallState.Calling, job.Attempt), aborted.Token, mustSave: true).ConfigureAwait(false);
        Log.Calling(_logger, Name, job.Id, model.Descriptor.Id, job.Attempt, asked);
        context.Progress.Report(new GenerationProgress(0, "generating"));
        ImageGenerationResponse response;
        try
        {
            response = await _generator.GenerateAsync(request, options, aborted.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // Canceled, timed out or shutting down: the checkpoint stays Calling, for the next attempt to judge.
            throw;
        }
        catch (Exception e)
        {
            throw await FailAsync(context, e).ConfigureAwait(false);
        }

        var outputs = new List<(int Index, GeneratedOutput Output)>(asked);
        var refused = new List<OutputFailure>();
        var urls = new List<ImageCallOutput>(asked);
        var contents = response.Contents ?? [];
        for (var i = 0; i < Math.Min(asked, contents.Count); i++)
        {
            switch (contents[i])
            {
                case DataContent data:
                    // Stored as an image or video type only, never as a type the model declared (text/html, image/svg+xml...).
                    if (ProviderResponses.OutputContentType(data.MediaType, data.Data.Span) is { } type)
                    {
                        outputs.Add((i, GeneratedOutput.FromBytes(type, data.Data)));
                    }
                    else
                    {
                        refused.Add(new OutputFailure(i, MediaGenErrorCodes.GeneratorPermanent, NotAnImage(i, job.Id, data.MediaType)));
                    }

                    break;
                case UriContent uri:
                    if (MediaTypeOf(uri, context.Request) is not { } mediaType)
                    {
                        refused.Add(new OutputFailure(i, MediaGenErrorCodes.GeneratorPermanent, NotAnImage(i, job.Id, uri.MediaType)));
                        break;
                    }

                    var url = new ImageCallOutput(i, uri.Uri, mediaType);
                    if (AddDownload(url, job.Id, outputs, refused))
                    {
                        urls.Add(url);
                    }

                    break;
            }
        }

        if (urls.Count > 0 && urls.Count == outputs.Count)
        {
            // Paid for: a later attempt downloads these instead of calling again (provider URLs last about an hour).
            await SaveAsync(context, new ImageCallCheckpoint(ImageCallState.Generated, job.Attempt) { Outputs = urls }, aborted.Token, mustSave: false).ConfigureAwait(false);
        }

        Log.Returned(_logger, Name, job.Id, outputs.Count, asked);
        context.Progress.Report(new GenerationProgress(1, "succeeded"));
        return Result(job, outputs, asked, refused);
    }

    public void Dispose()
    {
        if (_ownsGenerator)
        {
            _generator.Dispose();
        }
    }

    private ImageGenerationOptions BuildOptions(ImageModel model, GenerationContext context)
    {
        var request = context.Request;
        var settings = request.Settings ?? GenerationSettings.Default;
        var options = new ImageGenerationOptions
        {
            Count = request.GetOutputCount(),
            ModelId = model.Options.ProviderModel,
            ResponseFormat = model.Options.ResponseFormat,
            MediaType = settings.OutputFormat?.ToContentType(),
        };
        if (settings is { Width: { } width, Height: { } height })
        {
            options.ImageSize = new Size(width, height);
        }
        else if (settings.AspectRatio is { } ratio && model.SizesByAspectRatio.TryGetValue(ratio, out var size))
        {
            options.ImageSize = size;
        }

        var properties = new AdditionalPropertiesDictionary();
        if (settings.Seed is { } seed)
        {
            properties["seed"] = seed;
        }

        if (request.NegativePrompt is { } negative)
        {
            properties["negative_prompt"] = negative;
        }

        foreach (var (name, value) in request.Parameters ?? new Dictionary<string, JsonElement>())
        {
            var input = model.Options.Parameters.TryGetValue(name, out var parameter) && !string.IsNullOrWhiteSpace(parameter.Input) ? parameter.Input : name;
            properties[input] = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.Number when value.TryGetInt64(out var whole) => whole,
                JsonValueKind.Number => value.GetDouble(),
                _ => value.Clone(),
            };
        }

        if (properties.Count > 0)
        {
            options.AdditionalProperties = properties;
        }

        _options.ConfigureRequest?.Invoke(context, options);
        return options;
    }

    private async Task<Exception> FailAsync(GenerationContext context, Exception exception)
    {
        var job = context.Job;
        if (_options.ClassifyFailure?.Invoke(exception) is { } custom)
        {
            await SaveAsync(context, new ImageCallCheckpoint(ImageCallState.NothingGenerated, job.Attempt), CancellationToken.None, mustSave: false).ConfigureAwait(false);
            return custom;
        }

        var failure = ImageCallFailures.Classify(exception, Name, _options.DefaultRateLimitPause, _time);
        if (_logger.IsEnabled(LogLevel.Trace))
        {
            Log.ErrorText(_logger, Name, job.Id, failure.Text);
        }

        if (failure.Exception is not { } classified)
        {
            var reason = failure.Status > 0 ? $"the provider answered {failure.Status}" : $"the call failed with {exception.GetType().Name}";
            if (!_options.IsIdempotent)
            {
                return OutcomeUnknown(job, job.Attempt, reason, exception);
            }

            Log.RetryingUnknownOutcome(_logger, job.Id, Name, reason);
            return GenerationException.Transient($"The image call to {Name} failed and its outcome is unknown ({reason}); calling again, as the generator is idempotent.", innerException: exception);
        }

        // Proven: nothing was generated, so the next call pays nothing twice.
        await SaveAsync(context, new ImageCallCheckpoint(ImageCallState.NothingGenerated, job.Attempt), CancellationToken.None, mustSave: false).ConfigureAwait(false);
        Log.CallFailed(_logger, Name, job.Id, failure.Status, classified.ErrorCode);
        if (classified.IsRateLimited)
        {
            // Every call of this generator, in every worker sharing the backend, waits out the pause.
            await _gate.PauseAsync(Name, classified.RetryAfter ?? _options.DefaultRateLimitPause, CancellationToken.None).ConfigureAwait(false);
        }

        return classified;
    }

    private GenerationException OutcomeUnknown(GenerationJob job, int attempt, string reason, Exception? cause)
    {
        Log.OutcomeUnknown(_logger, job.Id, Name, attempt, _options.RefundUnknownOutcome);
        var refund = _options.RefundUnknownOutcome ? "The job's credits are refunded." : "The job's credits are kept.";
        return new GenerationException(
            MediaGenErrorCodes.OutcomeUnknown,
            $"The image call to {Name} in attempt {attempt} may have generated and been paid for ({reason}), and it has no handle to resume; " +
            $"it is not called again, so the provider is not paid twice. {refund}",
            isTransient: false,
            cause)
        {
            IsRefundable = _options.RefundUnknownOutcome,
        };
    }

    private async ValueTask SaveAsync(GenerationContext context, ImageCallCheckpoint checkpoint, CancellationToken cancellationToken, bool mustSave)
    {
        if (_options.IsIdempotent && checkpoint.State != ImageCallState.Generated)
        {
            return; // Calling again is safe, so only the images already made are worth remembering.
        }

        try
        {
            await context.Checkpoint.SaveAsync(checkpoint.Serialize(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!mustSave && e is not OperationCanceledException)
        {
            // Leaving the earlier state is safe: a Calling checkpoint only makes the next attempt more careful.
            Log.CheckpointFailed(_logger, e, context.Job.Id);
        }
    }

    private static GenerationResult Result(GenerationJob job, IReadOnlyList<(int Index, GeneratedOutput Output)> outputs, int asked, IReadOnlyList<OutputFailure> refused)
    {
        var failed = Enumerable.Range(0, asked)
            .Where(i => !outputs.Any(o => o.Index == i))
            .Select(i => refused.FirstOrDefault(r => r.Index == i)
                ?? new OutputFailure(i, MediaGenErrorCodes.OutputMissing, $"The image generator returned no image {i} of the {asked} job {job.Id} asked for."))
            .ToList();
        var delivered = outputs.OrderBy(o => o.Index).Select(o => o.Output).ToList();
        return failed.Count == 0 ? new GenerationResult(delivered) : new GenerationResult(delivered, failed);
    }

    /// <summary>
    /// The type an image URL's output is stored as: the declared one when MediaGen stores it, the URL's extension or the
    /// requested format when the declaration is generic; null (refused) for any other declared type.
    /// </summary>
    private static string? MediaTypeOf(UriContent content, GenerationRequest request) =>
        !string.Equals(content.MediaType, "application/octet-stream", StringComparison.OrdinalIgnoreCase) ? ProviderResponses.OutputContentType(content.MediaType)
        : ProviderResponses.InferContentType(content.Uri) ?? (request.Settings?.OutputFormat ?? OutputFormat.Png).ToContentType();

    private static string NotAnImage(int index, string jobId, string declared) =>
        $"Image {index} of job {jobId} is of type '{declared}', not an image MediaGen stores (PNG, JPEG, WebP, GIF, MP4).";

    /// <summary>
    /// Adds the download of an image URL to <paramref name="outputs"/>, or a refusal to <paramref name="refused"/> when
    /// the URL may not be fetched (not http or https, credentials, or a non-public host that is not allow-listed): the
    /// model chose it, so it fails that image before anything connects. Whether it was added.
    /// </summary>
    private bool AddDownload(ImageCallOutput output, string jobId, List<(int Index, GeneratedOutput Output)> outputs, List<OutputFailure> refused)
    {
        if (OutboundAddressPolicy.CheckUrl(output.Uri, _options.AllowedNonPublicOutputHosts, "The image URL") is { } reason)
        {
            refused.Add(new OutputFailure(output.Index, MediaGenErrorCodes.GeneratorPermanent, $"Refused to download image {output.Index} of job {jobId}: {reason}"));
            return false;
        }

        outputs.Add((output.Index, new GeneratedOutput(output.MediaType, ct => DownloadAsync(output, jobId, ct))));
        return true;
    }

    private async ValueTask<Stream> DownloadAsync(ImageCallOutput output, string jobId, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.DownloadTimeout, _time);
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        HttpResponseMessage response;
        try
        {
            // No token goes with it: provider image URLs are signed, and the API key is for the API only.
            response = await _httpClient().GetAsync(output.Uri, HttpCompletionOption.ResponseHeadersRead, both.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new IOException($"Downloading image {output.Index} of job {jobId} did not start within {_options.DownloadTimeout}.");
        }
        catch (HttpRequestException e) when (OutboundAddressRefusedException.IsRefusal(e))
        {
            throw GenerationException.Permanent($"Refused to download image {output.Index} of job {jobId}: {e.InnerException!.Message}", innerException: e);
        }

        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                var status = (int)response.StatusCode;
                if (ProviderResponses.IsTransient(response.StatusCode))
                {
                    throw new HttpRequestException($"Downloading image {output.Index} of job {jobId} failed with {status}.", null, response.StatusCode);
                }

                throw status is >= 300 and < 400
                    ? GenerationException.Permanent($"Refused to download image {output.Index} of job {jobId}: it answered {status}, a redirect, and image downloads do not follow redirects.")
                    : GenerationException.Permanent($"Image {output.Index} of job {jobId} can no longer be downloaded from the provider ({status}); its URL may have expired.");
            }
        }

        return await ProviderResponses.OpenBodyAsync(response, cancellationToken).ConfigureAwait(false);
    }
}
