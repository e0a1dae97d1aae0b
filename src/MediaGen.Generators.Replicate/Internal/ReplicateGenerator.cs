using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MediaGen.Generators.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace MediaGen.Generators.Replicate.Internal;

/// <summary>
/// Runs jobs as Replicate predictions. The provider is paid once per job: the prediction id is saved through the
/// checkpoint sink right after the create, and an attempt that finds a checkpoint resumes that prediction.
/// </summary>
internal sealed partial class ReplicateGenerator : HttpMediaGenerator<ReplicateModelOptions>
{
    public const string GeneratorName = "replicate";

    private readonly ReplicateGeneratorOptions _options;
    private readonly IReadOnlyDictionary<string, ReplicateModel> _models;
    private readonly ReplicateApiClient _api;
    private readonly ResiliencePipeline<ReplicatePrediction> _polling;

    public ReplicateGenerator(
        IOptions<ReplicateGeneratorOptions> options,
        ProviderHttpClientSource<ReplicateGeneratorOptions> httpClient,
        ProviderRateGate rateGate,
        TimeProvider timeProvider,
        ILogger<ReplicateGenerator> logger)
        : base(options.Value, httpClient.Create, rateGate, timeProvider, logger)
    {
        _options = options.Value;
        _models = Catalog.ToDictionary(p => p.Key, p => ReplicateModel.From(p.Value), StringComparer.Ordinal);
        _api = new ReplicateApiClient(_options, Http);

        // Polls until the prediction ends: PollInitialInterval, growing by PollBackoffFactor up to PollMaxInterval.
        _polling = new ResiliencePipelineBuilder<ReplicatePrediction> { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions<ReplicatePrediction>
            {
                MaxRetryAttempts = int.MaxValue,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result is { IsTerminal: false }),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(PollDelay(args.AttemptNumber)),
            })
            .Build();
    }

    public override string Name => GeneratorName;

    protected override GenerationException ClassifyFailure(ProviderFailure failure) => ReplicateApiClient.Classify(failure);

    protected override async ValueTask<GenerationResult> GenerateAsync(ProviderModel<ReplicateModelOptions> catalogModel, GenerationContext context, CancellationToken cancellationToken)
    {
        var model = _models[catalogModel.Id];
        var jobId = context.Job.Id;
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context.JobAborted);
        var input = BuildInput(model, context.Request);
        var run = new CreateRun
        {
            PredictionId = ReplicateCheckpoint.PredictionId(context.ExistingCheckpoint),
            InputIsTheRunsOwn = TryAddRunSeed(input, model, jobId, context.Job.Run),
        };
        if (run.PredictionId is { } saved)
        {
            run.Known.Add(saved);
        }

        try
        {
            var prediction = await ResumeAsync(model, input, context, run, both.Token).ConfigureAwait(false);
            if (prediction is null)
            {
                if (Logger.IsEnabled(LogLevel.Trace))
                {
                    Log.PredictionInput(Logger, jobId, input.ToJsonString());
                }

                prediction = await CreateAsync(model, input, context, run, cancellationToken).ConfigureAwait(false);
            }

            run.PredictionId = prediction.Id;
            context.JobAborted.ThrowIfCancellationRequested();
            prediction = await WaitAsync(prediction, context.Progress, both.Token).ConfigureAwait(false);
            return await CompleteAsync(prediction, context, both.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.JobAborted.IsCancellationRequested && run.PredictionId is { } predictionId)
        {
            // Also when the create answered after the abort and its id could not be saved: the prediction is known here
            // only, and would otherwise run, billed, for a job that is refunded.
            await CancelPredictionAsync(predictionId, jobId).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Creates the prediction. When the job is aborted while the create is in flight, the call is let finish (for at
    /// most <see cref="ReplicateGeneratorOptions.CancelTimeout"/>) so the id is known and the prediction can be canceled
    /// instead of running, billed, with nobody waiting for it. Any other stop of the attempt cancels the call at once.
    /// </summary>
    private async Task<ReplicatePrediction> SendCreateAsync(
        ReplicateModel model, JsonObject input, TimeSpan? cancelAfter, Func<CancellationToken, ValueTask> beforeSend, CancellationToken jobAborted, CancellationToken cancellationToken)
    {
        using var createCancel = new CancellationTokenSource(Timeout.InfiniteTimeSpan, TimeProvider);
        using var registration = cancellationToken.UnsafeRegister(
            static (state, _) =>
            {
                var (source, aborted, grace) = ((CancellationTokenSource, CancellationToken, TimeSpan))state!;
                if (aborted.IsCancellationRequested)
                {
                    source.CancelAfter(grace);
                }
                else
                {
                    source.Cancel();
                }
            },
            (createCancel, jobAborted, _options.CancelTimeout));
        try
        {
            return await _api.CreateAsync(model, input, cancelAfter, beforeSend, createCancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (createCancel.IsCancellationRequested)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw;
        }
    }

    /// <summary>
    /// The saved prediction when it can be resumed; null when a new one must be created. A saved prediction id is read
    /// back; a create that was in flight when an earlier attempt ended is looked up among recent predictions first.
    /// </summary>
    private async Task<ReplicatePrediction?> ResumeAsync(ReplicateModel model, JsonObject input, GenerationContext context, CreateRun run, CancellationToken cancellationToken)
    {
        var saved = context.ExistingCheckpoint;
        ReplicatePrediction? prediction;
        if (ReplicateCheckpoint.TryGetCreateStart(saved, out var startedAt))
        {
            // The mark is written right before the create is sent, so the create either failed by the call's timeout
            // after it or the worker stopped waiting sooner. A match canceled, aborted or interrupted is passed over
            // (FindCreatedAsync): nothing runs under it.
            prediction = await FindCreatedAsync(model, input, startedAt, startedAt + _api.CreateTimeout, context, run, cancellationToken).ConfigureAwait(false);
            if (prediction is null)
            {
                return UnconfirmedCreateNotFound(context, startedAt);
            }
        }
        else if (ReplicateCheckpoint.PredictionId(saved) is { } id)
        {
            prediction = await _api.GetAsync(id, cancellationToken).ConfigureAwait(false);
            if (prediction is null)
            {
                // 404: Replicate no longer knows the prediction (it was never created under this token, or is long gone),
                // so nothing is running or billed under that id and a new create cannot pay twice for the same work.
                Log.PredictionNotResumable(Logger, id, context.Job.Id, "not found");
                return null;
            }
        }
        else
        {
            return null;
        }

        if (NotResumable(prediction, canceled: false) is { } reason)
        {
            Log.PredictionNotResumable(Logger, prediction.Id, context.Job.Id, reason);
            return null;
        }

        if (IsExpired(prediction))
        {
            return OutputsExpired(prediction, context);
        }

        Log.PredictionResumed(Logger, prediction.Id, context.Job.Id, context.Attempt, prediction.Status);
        return prediction;
    }

    /// <summary>
    /// Why a prediction cannot be resumed, or null when it can. Aborted predictions never started running, so they were
    /// not paid for; one the platform interrupted can never succeed, so a retry needs a new one. A canceled one (when
    /// <paramref name="canceled"/> counts) has nothing running under it: a saved one canceled outside MediaGen fails the
    /// job instead, but a look-up passes over it (this job canceled it when its id could not be saved, or Replicate did
    /// at the job's deadline, or it is an earlier attempt's).
    /// </summary>
    private static string? NotResumable(ReplicatePrediction prediction, bool canceled) => prediction.Status switch
    {
        ReplicatePrediction.Aborted => "aborted before it started",
        ReplicatePrediction.Failed when IsTransientModelError(prediction.Error) => "interrupted",
        ReplicatePrediction.Canceled when canceled => "canceled",
        _ => null,
    };

    private async Task<ReplicatePrediction> WaitAsync(ReplicatePrediction prediction, IProgress<GenerationProgress> progress, CancellationToken cancellationToken)
    {
        GenerationProgress? last = null;
        var current = prediction;
        var first = true;
        return await _polling.ExecuteAsync(
            async token =>
            {
                if (!first)
                {
                    current = await _api.GetAsync(current.Id, token).ConfigureAwait(false)
                        ?? throw GenerationException.Transient($"Replicate no longer knows prediction '{current.Id}' (404 while polling); the next attempt starts a new one.");
                }

                first = false;
                if (!current.IsTerminal)
                {
                    var reported = ReadProgress(current);
                    if (reported != last)
                    {
                        progress.Report(reported);
                        last = reported;
                    }
                }

                return current;
            },
            cancellationToken).ConfigureAwait(false);
    }

    private TimeSpan PollDelay(int poll)
    {
        var delay = _options.PollInitialInterval;
        for (var i = 0; i < poll; i++)
        {
            var next = TimeSpan.FromTicks(Math.Min((long)(delay.Ticks * _options.PollBackoffFactor), _options.PollMaxInterval.Ticks));
            if (next == delay)
            {
                break;
            }

            delay = next;
        }

        return delay;
    }

    private async Task<GenerationResult> CompleteAsync(ReplicatePrediction prediction, GenerationContext context, CancellationToken cancellationToken)
    {
        var jobId = context.Job.Id;
        switch (prediction.Status)
        {
            case ReplicatePrediction.Succeeded:
                break;
            case ReplicatePrediction.Canceled:
                context.JobAborted.ThrowIfCancellationRequested();
                Log.PredictionFailed(Logger, prediction.Id, jobId, prediction.Status, MediaGenErrorCodes.GeneratorPermanent);
                throw GenerationException.Permanent($"Replicate prediction '{prediction.Id}' was canceled outside MediaGen.");
            case ReplicatePrediction.Aborted:
                Log.PredictionFailed(Logger, prediction.Id, jobId, prediction.Status, MediaGenErrorCodes.GeneratorTransient);
                throw GenerationException.Transient($"Replicate aborted prediction '{prediction.Id}' before it started (its deadline passed); the next attempt starts a new one.");
            default:
                throw ModelFailure(prediction, jobId);
        }

        var urls = prediction.OutputUrls();
        if (urls.Count == 0)
        {
            Log.PredictionFailed(Logger, prediction.Id, jobId, prediction.Status, MediaGenErrorCodes.GeneratorPermanent);
            throw GenerationException.Permanent($"Replicate prediction '{prediction.Id}' succeeded without any output.");
        }

        // Replicate bills per image: an output it could not give is reported failed (and refunded), not the whole job.
        var outputs = new List<GeneratedOutput>(urls.Count);
        var failed = new List<OutputFailure>();
        var opened = new List<PreopenedResponse>();
        try
        {
            for (var index = 0; index < urls.Count; index++)
            {
                try
                {
                    outputs.Add(await CreateOutputAsync(urls[index], prediction.Id, opened, cancellationToken).ConfigureAwait(false));
                }
                catch (GenerationException e) when (!e.IsTransient)
                {
                    failed.Add(new OutputFailure(index, e.ErrorCode, e.Message));
                }
            }
        }
        catch
        {
            foreach (var response in opened)
            {
                response.Dispose();
            }

            throw;
        }

        // Fewer outputs than asked (a safety checker can drop images): the answer does not say which, so the missing ones
        // are the last indexes.
        var asked = context.Request.GetOutputCount();
        for (var index = urls.Count; index < asked; index++)
        {
            failed.Add(new OutputFailure(
                index,
                MediaGenErrorCodes.OutputMissing,
                $"Replicate prediction '{prediction.Id}' returned {urls.Count} of the {asked} outputs asked for; output {index} is missing."));
        }

        context.Progress.Report(new GenerationProgress(1, "succeeded"));
        Log.PredictionSucceeded(Logger, prediction.Id, jobId, outputs.Count);
        return failed.Count == 0 ? new GenerationResult(outputs) : new GenerationResult(outputs, failed);
    }

    private GenerationException ModelFailure(ReplicatePrediction prediction, string jobId)
    {
        var text = string.IsNullOrWhiteSpace(prediction.Error) ? "no error text" : prediction.Error.Trim();
        Log.PredictionErrorText(Logger, prediction.Id, text);
        GenerationException failure;
        if (IsContentFiltered(text))
        {
            failure = GenerationException.Permanent($"Replicate prediction '{prediction.Id}' was refused by the content filter: {text}", MediaGenErrorCodes.ContentFiltered);
        }
        else if (IsTransientModelError(text))
        {
            failure = GenerationException.Transient($"Replicate prediction '{prediction.Id}' was interrupted: {text}");
        }
        else
        {
            failure = GenerationException.Permanent($"Replicate prediction '{prediction.Id}' failed: {text}");
        }

        Log.PredictionFailed(Logger, prediction.Id, jobId, prediction.Status, failure.ErrorCode);
        return failure;
    }

    private async Task<GeneratedOutput> CreateOutputAsync(string value, string predictionId, List<PreopenedResponse> opened, CancellationToken cancellationToken)
    {
        if (value.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            if (!ProviderResponses.TryDecodeDataUri(value, out var dataType, out var bytes))
            {
                throw GenerationException.Permanent($"Replicate prediction '{predictionId}' returned a data URI that is not base64.");
            }

            // Stored as an image or video type only, never as the type the model declared (text/html, image/svg+xml...).
            return ProviderResponses.OutputContentType(dataType, bytes) is { } type
                ? GeneratedOutput.FromBytes(type, bytes)
                : throw GenerationException.Permanent($"Replicate prediction '{predictionId}' returned a data URI of type '{dataType}' that holds no image or video MediaGen stores (PNG, JPEG, WebP, GIF, MP4).");
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var url))
        {
            throw GenerationException.Permanent($"Replicate prediction '{predictionId}' returned an output that is not a URL.");
        }

        // The model chose this URL: one naming an internal address fails this output now, before anything connects.
        Http.CheckDownloadUrl(url);

        if (ProviderResponses.InferContentType(url) is { } inferred)
        {
            return new GeneratedOutput(inferred, ct => OpenOutputAsync(url, ct));
        }

        // The URL does not say what it holds: start the download now to read the response's content type, and hand
        // that response to the first reader (later readers download again).
        var response = await _api.DownloadAsync(url, cancellationToken).ConfigureAwait(false);
        if (ProviderResponses.MediaContentType(response.Content.Headers.ContentType) is not { } contentType)
        {
            var declared = response.Content.Headers.ContentType?.MediaType ?? "no content type";
            response.Dispose();
            throw GenerationException.Permanent($"Replicate prediction '{predictionId}' returned an output served as '{declared}', not an image or video MediaGen stores (PNG, JPEG, WebP, GIF, MP4).");
        }

        var preopened = new PreopenedResponse(response);
        opened.Add(preopened);
        return new GeneratedOutput(contentType, ct => preopened.Take() is { } first ? ProviderResponses.OpenBodyAsync(first, ct) : OpenOutputAsync(url, ct))
        {
            Length = response.Content.Headers.ContentLength,
        };
    }

    private async ValueTask<Stream> OpenOutputAsync(Uri url, CancellationToken cancellationToken)
    {
        var response = await _api.DownloadAsync(url, cancellationToken).ConfigureAwait(false);
        return await ProviderResponses.OpenBodyAsync(response, cancellationToken).ConfigureAwait(false);
    }

    private async Task CancelPredictionAsync(string predictionId, string jobId)
    {
        // The job's tokens are canceled already; the cancel call gets a short timeout of its own.
        using var timeout = new CancellationTokenSource(_options.CancelTimeout, TimeProvider);
        try
        {
            await _api.CancelAsync(predictionId, timeout.Token).ConfigureAwait(false);
            Log.PredictionCanceled(Logger, predictionId, jobId);
        }
        catch (Exception e) when (e is GenerationException or OperationCanceledException or HttpRequestException)
        {
            Log.CancelFailed(Logger, e, predictionId, jobId);
        }
    }

    internal static JsonObject BuildInput(ReplicateModel model, GenerationRequest request)
    {
        var rules = model.Descriptor.Settings;
        var settings = request.Settings ?? GenerationSettings.Default;
        var input = new JsonObject { ["prompt"] = request.Prompt };
        if (settings.Width is { } width && settings.Height is { } height)
        {
            input["width"] = width;
            input["height"] = height;
            if (model.DimensionsAspectRatio is { } ratio)
            {
                input["aspect_ratio"] = ratio;
            }
        }
        else if (settings.AspectRatio is { } aspectRatio)
        {
            input["aspect_ratio"] = aspectRatio;
        }

        if (rules.MaxOutputs > 1)
        {
            // Always said, so the model's own default never makes more images than the job is charged for.
            input["num_outputs"] = request.GetOutputCount();
        }

        if (settings.OutputFormat is { } format && rules.OutputFormats.Count > 1)
        {
            input["output_format"] = format switch
            {
                OutputFormat.Jpeg => "jpg",
                OutputFormat.Webp => "webp",
                _ => "png",
            };
        }

        ProviderInputs.AddCommon(input, model.ParameterInputs, request);
        return input;
    }

    /// <summary>Progress from the prediction's status and the last progress bar in its logs (<c> 40%|####  | 2/5</c>).</summary>
    internal static GenerationProgress ReadProgress(ReplicatePrediction prediction)
    {
        if (prediction.Status == ReplicatePrediction.Starting || string.IsNullOrEmpty(prediction.Logs))
        {
            return new GenerationProgress(0, prediction.Status);
        }

        var matches = ProgressBar().Matches(prediction.Logs);
        for (var i = matches.Count - 1; i >= 0; i--)
        {
            var match = matches[i];
            if (long.TryParse(match.Groups["done"].ValueSpan, out var done)
                && long.TryParse(match.Groups["total"].ValueSpan, out var total)
                && total > 0 && done <= total)
            {
                return new GenerationProgress((double)done / total, $"step {done}/{total}");
            }
        }

        return new GenerationProgress(0, prediction.Status);
    }

    private static bool IsContentFiltered(string text) =>
        text.Contains("NSFW", StringComparison.OrdinalIgnoreCase)
        || text.Contains("flagged as sensitive", StringComparison.OrdinalIgnoreCase)
        || text.Contains("content filter", StringComparison.OrdinalIgnoreCase)
        || text.Contains("safety filter", StringComparison.OrdinalIgnoreCase)
        || text.Contains("content moderation", StringComparison.OrdinalIgnoreCase);

    private static bool IsTransientModelError(string? text) =>
        text is not null
        && (text.Contains("interrupted", StringComparison.OrdinalIgnoreCase) || text.Contains("please retry", StringComparison.OrdinalIgnoreCase));

    /// <summary>What one attempt knows of its prediction.</summary>
    private sealed class CreateRun
    {
        /// <summary>The id once a create answered (or a look-up found it), saved or not; at first the saved one.</summary>
        public string? PredictionId { get; set; }

        /// <summary>Ids this job already had (the saved one), which a look-up for a lost create never adopts.</summary>
        public HashSet<string> Known { get; } = new(StringComparer.Ordinal);

        /// <summary>
        /// Whether the input carries the seed derived from this job run, so no other job or run sends the same one and a
        /// prediction listed with it is this run's. False when the request set its own seed or the model takes none.
        /// </summary>
        public bool InputIsTheRunsOwn { get; init; }
    }

    /// <summary>A download started to learn its content type, handed to the first reader.</summary>
    private sealed class PreopenedResponse(HttpResponseMessage response) : IDisposable
    {
        private HttpResponseMessage? _response = response;

        public HttpResponseMessage? Take() => Interlocked.Exchange(ref _response, null);

        public void Dispose() => Take()?.Dispose();
    }

    [GeneratedRegex(@"(?<percent>\d{1,3})%\|[^|\r\n]*\|\s*(?<done>\d+)/(?<total>\d+)", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex ProgressBar();
}
