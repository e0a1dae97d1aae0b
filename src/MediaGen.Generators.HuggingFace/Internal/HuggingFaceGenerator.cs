using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MediaGen.Generators.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen.Generators.HuggingFace.Internal;

/// <summary>
/// Text-to-image through the Hugging Face inference API: the prompt and parameters go in, the image bytes come
/// back in the response. There is no provider-side handle to resume, so no checkpoint is saved.
/// </summary>
internal sealed class HuggingFaceGenerator : IMediaGenerator
{
    public const string GeneratorName = "huggingface";

    private const string ModelLoadingKey = "MediaGen.HuggingFace.ModelLoading";

    private readonly HuggingFaceGeneratorOptions _options;
    private readonly IReadOnlyDictionary<string, HuggingFaceModel> _models;
    private readonly HuggingFaceHttpClientSource _httpClient;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    public HuggingFaceGenerator(IOptions<HuggingFaceGeneratorOptions> options, HuggingFaceHttpClientSource httpClient, TimeProvider timeProvider, ILogger<HuggingFaceGenerator> logger)
    {
        _options = options.Value;
        _models = HuggingFaceModelCatalog.Build(_options, out var errors);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(nameof(HuggingFaceGeneratorOptions), typeof(HuggingFaceGeneratorOptions), errors);
        }

        _httpClient = httpClient;
        _timeProvider = timeProvider;
        _logger = logger;
        Gate = new ProviderRateGate(timeProvider);
        Models = [.. _models.Values.Select(m => m.Descriptor)];
    }

    public string Name => GeneratorName;

    public IReadOnlyList<ModelDescriptor> Models { get; }

    /// <summary>The gate every call of this generator waits on; paused for all jobs after a 429.</summary>
    internal ProviderRateGate Gate { get; }

    public async ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!_models.TryGetValue(context.Model.Id, out var model))
        {
            throw GenerationException.Permanent($"The Hugging Face generator does not serve model '{context.Model.Id}'.");
        }

        var request = context.Request;
        var invalid = model.Descriptor.Validate(request);
        if (invalid.Count > 0)
        {
            throw GenerationException.Permanent(new RequestValidationException(invalid).Message, MediaGenErrorCodes.ValidationFailed);
        }

        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context.JobAborted);
        var token = both.Token;
        var body = BuildBody(model, request).ToJsonString();
        if (_logger.IsEnabled(LogLevel.Trace))
        {
            Log.RequestBody(_logger, context.Job.Id, body);
        }

        var url = new Uri(BaseUrl(), $"models/{model.Repository}");
        var accept = request.Settings?.OutputFormat is { } format ? format.ToContentType() : null;
        context.Progress.Report(new GenerationProgress(0, "generating"));
        for (var retry = 0; ; retry++)
        {
            await Gate.WaitAsync(token).ConfigureAwait(false);
            var (image, failure) = await CallAsync(url, body, accept, model, context.Job.Id, token).ConfigureAwait(false);
            if (image is not null)
            {
                context.Progress.Report(new GenerationProgress(1, "succeeded"));
                return new GenerationResult([image]);
            }

            if (!failure!.IsTransient)
            {
                throw failure;
            }

            if (failure.IsRateLimited)
            {
                // The gate is already paused for every job; waiting on it is the delay.
                if (retry >= _options.MaxRequestRetries || failure.RetryAfter > _options.MaxRetryWait)
                {
                    throw failure;
                }

                continue;
            }

            var delay = failure.RetryAfter ?? TimeSpan.FromTicks(_options.RetryBaseDelay.Ticks * (1L << Math.Min(retry, 16)));
            if (retry >= _options.MaxRequestRetries || delay > _options.MaxRetryWait)
            {
                throw failure;
            }

            if (failure.Data.Contains(ModelLoadingKey))
            {
                Log.ModelLoading(_logger, model.Id, delay, retry + 1, _options.MaxRequestRetries);
            }
            else
            {
                Log.RetryingCall(_logger, model.Id, delay, retry + 1, _options.MaxRequestRetries);
            }

            await Task.Delay(delay, _timeProvider, token).ConfigureAwait(false);
        }
    }

    /// <summary>One call: the image, or the classified failure.</summary>
    private async Task<(GeneratedOutput? Image, GenerationException? Failure)> CallAsync(Uri url, string body, string? accept, HuggingFaceModel model, string jobId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.ApiToken);
        if (accept is not null)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        }

        if (_options.WaitForModel)
        {
            request.Headers.TryAddWithoutValidation("x-wait-for-model", "true");
        }

        var (timeoutSource, linked) = ProviderHttp.CreateTimeout(_options.RequestTimeout, _timeProvider, cancellationToken);
        using (timeoutSource)
        using (linked)
        {
            try
            {
                using var response = await _httpClient.Create().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    var image = await ReadImageAsync(response, model, linked.Token).ConfigureAwait(false);
                    Log.ImageGenerated(_logger, jobId, model.Id, image.Length ?? 0);
                    return (image, null);
                }

                return (null, await ClassifyAsync(response, model, jobId, linked.Token).ConfigureAwait(false));
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                return (null, GenerationException.Transient($"Hugging Face did not return an image for model '{model.Id}' within {_options.RequestTimeout}.", innerException: e));
            }
            catch (HttpRequestException e)
            {
                return (null, GenerationException.Transient($"The Hugging Face call for model '{model.Id}' failed: {e.Message}", innerException: e));
            }
            catch (IOException e)
            {
                return (null, GenerationException.Transient($"Reading the image from Hugging Face for model '{model.Id}' failed: {e.Message}", innerException: e));
            }
        }
    }

    private async Task<GeneratedOutput> ReadImageAsync(HttpResponseMessage response, HuggingFaceModel model, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > _options.MaxImageBytes)
        {
            throw GenerationException.Permanent($"Hugging Face returned an image of {response.Content.Headers.ContentLength} bytes for model '{model.Id}'; MaxImageBytes allows {_options.MaxImageBytes}.");
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        byte[] bytes;
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > _options.MaxImageBytes)
                {
                    throw GenerationException.Permanent($"Hugging Face returned an image larger than MaxImageBytes ({_options.MaxImageBytes}) for model '{model.Id}'.");
                }

                buffer.Write(chunk, 0, read);
            }

            bytes = buffer.ToArray();
        }

        var contentType = ProviderHttp.MediaContentType(response.Content.Headers.ContentType) ?? SniffImageType(bytes)
            ?? throw GenerationException.Permanent(
                $"Hugging Face answered model '{model.Id}' with '{response.Content.Headers.ContentType?.MediaType ?? "no content type"}' instead of an image. Check that the model is a text-to-image model.");
        return GeneratedOutput.FromBytes(contentType, bytes);
    }

    private async Task<GenerationException> ClassifyAsync(HttpResponseMessage response, HuggingFaceModel model, string jobId, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var raw = await ReadBodyAsync(response, cancellationToken).ConfigureAwait(false);
        var text = ProviderHttp.ExtractErrorText(raw);
        if (string.IsNullOrWhiteSpace(text))
        {
            text = response.ReasonPhrase ?? response.StatusCode.ToString();
        }

        Log.ProviderErrorText(_logger, status, text);
        var retryAfter = ProviderHttp.GetRetryAfter(response, _timeProvider);
        var subject = $"model '{model.Id}' ({model.Repository})";
        GenerationException failure;
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            var pause = retryAfter ?? _options.DefaultRateLimitPause;
            Gate.Pause(pause);
            Log.RateLimited(_logger, pause);
            failure = GenerationException.RateLimited($"Hugging Face rate-limited the call for {subject} (429): {text}", pause);
        }
        else if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            // 503 while the model loads carries an estimate of the load time in seconds.
            var estimate = EstimatedTime(raw) ?? retryAfter;
            failure = GenerationException.Transient($"Hugging Face cannot serve {subject} yet (503): {text}", estimate);
            failure.Data[ModelLoadingKey] = true;
        }
        else if (ProviderHttp.IsTransient(response.StatusCode))
        {
            failure = GenerationException.Transient($"Hugging Face failed the call for {subject} with {status}: {text}", retryAfter);
        }
        else
        {
            failure = response.StatusCode switch
            {
                HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => GenerationException.Permanent(
                    $"Hugging Face refused the call for {subject} ({status}): {text}. Check MediaGen:Generators:HuggingFace:ApiToken and the token's access to the model (gated models need their terms accepted)."),
                HttpStatusCode.NotFound => GenerationException.Permanent(
                    $"Hugging Face found nothing for {subject} (404): {text}. Check the model repository in the Hugging Face catalog and the BaseUrl."),
                _ when IsContentFiltered(text) => GenerationException.Permanent(
                    $"Hugging Face refused {subject} by its content filter ({status}): {text}", MediaGenErrorCodes.ContentFiltered),
                HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity => GenerationException.Permanent(
                    $"Hugging Face rejected the input for {subject} ({status}): {text}", MediaGenErrorCodes.ValidationFailed),
                _ => GenerationException.Permanent($"Hugging Face refused the call for {subject} ({status}): {text}"),
            };
            Log.CallFailed(_logger, jobId, model.Id, status, failure.ErrorCode);
        }

        return failure;
    }

    internal static JsonObject BuildBody(HuggingFaceModel model, GenerationRequest request)
    {
        var settings = request.Settings ?? GenerationSettings.Default;
        var parameters = new JsonObject();
        if (settings.Width is { } width && settings.Height is { } height)
        {
            parameters["width"] = width;
            parameters["height"] = height;
        }

        if (settings.Seed is { } seed)
        {
            parameters["seed"] = seed;
        }

        if (request.NegativePrompt is { } negative)
        {
            parameters["negative_prompt"] = negative;
        }

        if (request.Parameters is { } values)
        {
            foreach (var (name, value) in values)
            {
                parameters[model.ParameterInputs.GetValueOrDefault(name, name)] = JsonNode.Parse(value.GetRawText());
            }
        }

        var body = new JsonObject { ["inputs"] = request.Prompt };
        if (parameters.Count > 0)
        {
            body["parameters"] = parameters;
        }

        return body;
    }

    private Uri BaseUrl() => _options.BaseUrl.AbsoluteUri.EndsWith('/') ? _options.BaseUrl : new Uri(_options.BaseUrl.AbsoluteUri + "/");

    private static async Task<string> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return text.Length > 8192 ? text[..8192] : text.Trim();
        }
        catch (HttpRequestException)
        {
            return string.Empty;
        }
    }

    private static TimeSpan? EstimatedTime(string body)
    {
        if (body.Length == 0 || body[0] != '{')
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("estimated_time", out var estimate) && estimate.TryGetDouble(out var seconds) && seconds >= 0 && seconds < 86_400
                ? TimeSpan.FromSeconds(Math.Ceiling(seconds))
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? SniffImageType(ReadOnlySpan<byte> bytes) => bytes switch
    {
        [0x89, 0x50, 0x4E, 0x47, ..] => "image/png",
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [0x52, 0x49, 0x46, 0x46, _, _, _, _, 0x57, 0x45, 0x42, 0x50, ..] => "image/webp",
        [0x47, 0x49, 0x46, 0x38, ..] => "image/gif",
        _ => null,
    };

    private static bool IsContentFiltered(string text) =>
        text.Contains("NSFW", StringComparison.OrdinalIgnoreCase)
        || text.Contains("content filter", StringComparison.OrdinalIgnoreCase)
        || text.Contains("safety", StringComparison.OrdinalIgnoreCase);
}
