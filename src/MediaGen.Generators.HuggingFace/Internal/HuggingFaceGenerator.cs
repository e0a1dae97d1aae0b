using System.Buffers;
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
/// Text-to-image through Hugging Face's inference router: the prompt and parameters go in, in the chosen provider's
/// shape (<see cref="HuggingFaceRoutes"/>); the image comes back in the response, as bytes or in JSON. There is no
/// provider-side handle to resume, so no checkpoint is saved.
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
        var provider = model.Options.Provider ?? _options.Provider;
        var (url, json) = HuggingFaceRoutes.Build(BaseUrl(), provider, model, request);
        var body = json.ToJsonString();
        if (Logger.IsEnabled(LogLevel.Trace))
        {
            Log.RequestBody(Logger, context.Job.Id, body);
        }

        var accept = request.Settings?.OutputFormat is { } format ? format.ToContentType() : null;
        context.Progress.Report(new GenerationProgress(0, "generating"));
        var call = new ProviderCall("text-to-image", $"model '{model.Id}' ({model.Repository} on {provider})")
        {
            ReadSuccessAsync = (response, token) => BufferAsync(response, model, token),
        };
        using var response = await Http.SendAsync(
            () =>
            {
                var message = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                if (accept is not null)
                {
                    message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
                }

                return message;
            },
            call,
            both.Token).ConfigureAwait(false);
        var bytes = await response.Content.ReadAsByteArrayAsync(both.Token).ConfigureAwait(false);
        var (contentType, image) = ProviderResponses.MediaContentType(response.Content.Headers.ContentType) is { } type
            ? (type, bytes)
            : ProviderResponses.SniffMediaType(bytes) is { } sniffed
                ? (sniffed, bytes)
                : await ReadJsonImageAsync(bytes, response.Content.Headers.ContentType?.MediaType, model, both.Token).ConfigureAwait(false);
        Log.ImageGenerated(Logger, context.Job.Id, model.Id, image.Length);
        context.Progress.Report(new GenerationProgress(1, "succeeded"));
        return new GenerationResult([GeneratedOutput.FromBytes(contentType, image)]);
    }

    /// <summary>
    /// The image in a JSON answer: the first of <c>data[].b64_json</c> (OpenAI style, and hf-inference's JSON),
    /// <c>images[].url</c> (fal-ai), <c>data[].url</c> or <c>output</c> (a URL or a list of them), each either a
    /// <c>data:</c> URI or a URL that is downloaded.
    /// </summary>
    private async Task<(string ContentType, byte[] Image)> ReadJsonImageAsync(byte[] body, string? declared, ProviderModel<HuggingFaceModelOptions> model, CancellationToken cancellationToken)
    {
        string? found = null;
        var base64 = false;
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                if (First(root, "data") is { } data && data.TryGetProperty("b64_json", out var b64) && b64.ValueKind == JsonValueKind.String)
                {
                    (found, base64) = (b64.GetString(), true);
                }
                else
                {
                    found = Url(First(root, "images")) ?? Url(First(root, "data")) ?? Output(root);
                }
            }
        }
        catch (JsonException)
        {
        }

        if (found is null)
        {
            throw GenerationException.Permanent(
                $"Hugging Face answered model '{model.Id}' with '{declared ?? "no content type"}' holding no image. Check that the model is a text-to-image model its provider serves.");
        }

        if (base64)
        {
            try
            {
                var decoded = Convert.FromBase64String(found);
                return (ProviderResponses.SniffMediaType(decoded) ?? "image/jpeg", decoded);
            }
            catch (FormatException)
            {
                throw GenerationException.Permanent($"Hugging Face answered model '{model.Id}' with a b64_json image that is not base64.");
            }
        }

        if (ProviderResponses.TryDecodeDataUri(found, out var dataType, out var content))
        {
            return (ProviderResponses.OutputContentType(dataType, content)
                ?? throw GenerationException.Permanent($"Hugging Face answered model '{model.Id}' with a data URI of type '{dataType}' that holds no image MediaGen stores (PNG, JPEG, WebP, GIF)."), content);
        }

        if (!Uri.TryCreate(found, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            throw GenerationException.Permanent($"Hugging Face answered model '{model.Id}' with an image that is neither a URL nor a data URI.");
        }

        using var download = await Http.DownloadAsync(url, cancellationToken).ConfigureAwait(false);
        await BufferAsync(download, model, cancellationToken).ConfigureAwait(false);
        var image = await download.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return (ProviderResponses.MediaContentType(download.Content.Headers.ContentType) ?? ProviderResponses.SniffMediaType(image) ?? ProviderResponses.InferContentType(url) ?? "image/jpeg", image);

        static JsonElement? First(JsonElement root, string name) =>
            root.TryGetProperty(name, out var list) && list.ValueKind == JsonValueKind.Array && list.GetArrayLength() > 0 ? list[0] : null;

        static string? Url(JsonElement? item) =>
            item is { ValueKind: JsonValueKind.Object } value && value.TryGetProperty("url", out var url) && url.ValueKind == JsonValueKind.String ? url.GetString() : null;

        static string? Output(JsonElement root) =>
            root.TryGetProperty("output", out var output) ? output.ValueKind switch
            {
                JsonValueKind.String => output.GetString(),
                JsonValueKind.Array when output.GetArrayLength() > 0 && output[0].ValueKind == JsonValueKind.String => output[0].GetString(),
                _ => null,
            } : null;
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

    /// <summary>Reads the answer (an image, or JSON holding one) into memory inside the call's timeout, refusing one larger than <see cref="HuggingFaceGeneratorOptions.MaxImageBytes"/>.</summary>
    private async ValueTask BufferAsync(HttpResponseMessage response, ProviderModel<HuggingFaceModelOptions> model, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > _options.MaxImageBytes)
        {
            throw GenerationException.Permanent($"Hugging Face returned an image of {response.Content.Headers.ContentLength} bytes for model '{model.Id}'; MaxImageBytes allows {_options.MaxImageBytes}.");
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            await using (stream.ConfigureAwait(false))
            {
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
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        // The stream's own array, not a copy of the image.
        var content = new ByteArrayContent(buffer.GetBuffer(), 0, (int)buffer.Length);
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

    private static bool IsContentFiltered(string text) =>
        text.Contains("NSFW", StringComparison.OrdinalIgnoreCase)
        || text.Contains("content filter", StringComparison.OrdinalIgnoreCase)
        || text.Contains("safety", StringComparison.OrdinalIgnoreCase);
}
