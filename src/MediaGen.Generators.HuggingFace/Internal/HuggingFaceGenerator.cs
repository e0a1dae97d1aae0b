using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MediaGen.Generators.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen.Generators.HuggingFace.Internal;

/// <summary>
/// Text-to-image through the Hugging Face inference API: the prompt and parameters go in, the image bytes come
/// back in the response. There is no provider-side handle to resume, so no checkpoint is saved.
/// </summary>
internal sealed class HuggingFaceGenerator : HttpMediaGenerator<HuggingFaceModelOptions>
{
    public const string GeneratorName = "huggingface";

    private const string ModelLoadingKey = "MediaGen.HuggingFace.ModelLoading";

    private readonly HuggingFaceGeneratorOptions _options;

    public HuggingFaceGenerator(
        IOptions<HuggingFaceGeneratorOptions> options,
        ProviderHttpClientSource<HuggingFaceGeneratorOptions> httpClient,
        ProviderRateGate rateGate,
        TimeProvider timeProvider,
        ILogger<HuggingFaceGenerator> logger)
        : base(options.Value, httpClient.Create, rateGate, timeProvider, logger)
    {
        _options = options.Value;
    }

    public override string Name => GeneratorName;

    protected override async ValueTask<GenerationResult> GenerateAsync(ProviderModel<HuggingFaceModelOptions> model, GenerationContext context, CancellationToken cancellationToken)
    {
        var request = context.Request;
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context.JobAborted);
        var body = BuildBody(model, request).ToJsonString();
        if (Logger.IsEnabled(LogLevel.Trace))
        {
            Log.RequestBody(Logger, context.Job.Id, body);
        }

        var url = new Uri(BaseUrl(), $"models/{model.Repository}");
        var accept = request.Settings?.OutputFormat is { } format ? format.ToContentType() : null;
        context.Progress.Report(new GenerationProgress(0, "generating"));
        var call = new ProviderCall("text-to-image", $"model '{model.Id}' ({model.Repository})")
        {
            ReadSuccessAsync = (response, token) => BufferImageAsync(response, model, token),
        };
        using var response = await Http.SendAsync(
            () =>
            {
                var message = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                if (accept is not null)
                {
                    message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
                }

                if (_options.WaitForModel)
                {
                    message.Headers.TryAddWithoutValidation("x-wait-for-model", "true");
                }

                return message;
            },
            call,
            both.Token).ConfigureAwait(false);
        var bytes = await response.Content.ReadAsByteArrayAsync(both.Token).ConfigureAwait(false);
        var contentType = ProviderResponses.MediaContentType(response.Content.Headers.ContentType) ?? SniffImageType(bytes)
            ?? throw GenerationException.Permanent(
                $"Hugging Face answered model '{model.Id}' with '{response.Content.Headers.ContentType?.MediaType ?? "no content type"}' instead of an image. Check that the model is a text-to-image model.");
        Log.ImageGenerated(Logger, context.Job.Id, model.Id, bytes.Length);
        context.Progress.Report(new GenerationProgress(1, "succeeded"));
        return new GenerationResult([GeneratedOutput.FromBytes(contentType, bytes)]);
    }

    protected override GenerationException ClassifyFailure(ProviderFailure failure)
    {
        var (status, text, subject) = ((int)failure.Status, failure.Text, failure.Call.Subject);
        if (failure.Status == HttpStatusCode.ServiceUnavailable)
        {
            // 503 while the model loads carries an estimate of the load time in seconds.
            var loading = GenerationException.Transient($"Hugging Face cannot serve {subject} yet (503): {text}", EstimatedTime(failure.Body) ?? failure.RetryAfter);
            loading.Data[ModelLoadingKey] = true;
            return loading;
        }

        if (failure.IsTransientStatus)
        {
            return GenerationException.Transient($"Hugging Face failed the call for {subject} with {status}: {text}", failure.RetryAfter);
        }

        var permanent = failure.Status switch
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
        Log.CallFailed(Logger, failure.Call.Subject, status, permanent.ErrorCode);
        return permanent;
    }

    protected override void OnRetry(ProviderRetry retry)
    {
        if (retry.Failure?.Data.Contains(ModelLoadingKey) == true)
        {
            Log.ModelLoading(Logger, retry.Call.Subject, retry.Delay, retry.Retry, retry.MaxRetries);
        }
        else
        {
            base.OnRetry(retry);
        }
    }

    internal static JsonObject BuildBody(ProviderModel<HuggingFaceModelOptions> model, GenerationRequest request)
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

    /// <summary>Reads the image into memory inside the call's timeout, refusing one larger than <see cref="HuggingFaceGeneratorOptions.MaxImageBytes"/>.</summary>
    private async ValueTask BufferImageAsync(HttpResponseMessage response, ProviderModel<HuggingFaceModelOptions> model, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > _options.MaxImageBytes)
        {
            throw GenerationException.Permanent($"Hugging Face returned an image of {response.Content.Headers.ContentLength} bytes for model '{model.Id}'; MaxImageBytes allows {_options.MaxImageBytes}.");
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new MemoryStream();
        await using (stream.ConfigureAwait(false))
        {
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
        }

        var content = new ByteArrayContent(buffer.ToArray());
        foreach (var header in response.Content.Headers)
        {
            content.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        response.Content.Dispose();
        response.Content = content;
    }

    private Uri BaseUrl() => _options.BaseUrl.AbsoluteUri.EndsWith('/') ? _options.BaseUrl : new Uri(_options.BaseUrl.AbsoluteUri + "/");

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
