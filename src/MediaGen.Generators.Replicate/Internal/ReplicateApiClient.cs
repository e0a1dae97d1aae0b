using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using MediaGen.Generators.Internal;
using Microsoft.Extensions.Logging;

namespace MediaGen.Generators.Replicate.Internal;

/// <summary>
/// The Replicate predictions API: create, get, cancel and output downloads. Every API call first awaits the
/// provider's rate gate; 429, 5xx and network errors are retried within the attempt (honouring Retry-After, and a
/// 429 pauses the gate for every job), then surface as classified <see cref="GenerationException"/>s.
/// </summary>
internal sealed class ReplicateApiClient(
    ReplicateGeneratorOptions options,
    Func<HttpClient> httpClient,
    ProviderRateGate gate,
    TimeProvider timeProvider,
    ILogger logger)
{
    private const string Provider = "Replicate";

    public ProviderRateGate Gate => gate;

    public async Task<ReplicatePrediction> CreateAsync(ReplicateModel model, JsonObject input, CancellationToken cancellationToken)
    {
        var body = new JsonObject();
        Uri url;
        if (model.Version is { } version)
        {
            url = Api("v1/predictions");
            body["version"] = version;
        }
        else
        {
            url = Api($"v1/models/{Uri.EscapeDataString(model.Owner)}/{Uri.EscapeDataString(model.Name)}/predictions");
        }

        body["input"] = input;
        var json = body.ToJsonString();
        var timeout = options.RequestTimeout + TimeSpan.FromSeconds(options.PreferWaitSeconds ?? 0);

        // A create is not idempotent on Replicate's side; it is retried only after answers that say nothing was
        // created (429, 5xx) or after a network error, where the alternative (failing the attempt) retries it too.
        using var response = await SendAsync(
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
                if (options.PreferWaitSeconds is { } wait)
                {
                    request.Headers.TryAddWithoutValidation("Prefer", $"wait={wait}");
                }

                return request;
            },
            "create",
            $"model '{model.Id}' ({model.Reference})",
            timeout,
            notFoundIsResult: false,
            cancellationToken).ConfigureAwait(false);
        return await ReadPredictionAsync(response, "create", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Gets a prediction; null when Replicate answers 404.</summary>
    public async Task<ReplicatePrediction?> GetAsync(string predictionId, CancellationToken cancellationToken)
    {
        var url = Api($"v1/predictions/{Uri.EscapeDataString(predictionId)}");
        using var response = await SendAsync(
            () => new HttpRequestMessage(HttpMethod.Get, url),
            "get",
            $"prediction '{predictionId}'",
            options.RequestTimeout,
            notFoundIsResult: true,
            cancellationToken).ConfigureAwait(false);
        return response.StatusCode == HttpStatusCode.NotFound
            ? null
            : await ReadPredictionAsync(response, "get", cancellationToken).ConfigureAwait(false);
    }

    public async Task CancelAsync(string predictionId, CancellationToken cancellationToken)
    {
        var url = Api($"v1/predictions/{Uri.EscapeDataString(predictionId)}/cancel");
        using var response = await SendAsync(
            () => new HttpRequestMessage(HttpMethod.Post, url),
            "cancel",
            $"prediction '{predictionId}'",
            options.RequestTimeout,
            notFoundIsResult: true,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Starts downloading an output; the caller owns the response and reads its body as a stream.</summary>
    public async Task<HttpResponseMessage> DownloadAsync(Uri url, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (Uri.Compare(url, options.BaseUrl, UriComponents.SchemeAndServer, UriFormat.UriEscaped, StringComparison.OrdinalIgnoreCase) == 0)
        {
            // Files served by the API itself need the token; the delivery CDN does not, and never gets it.
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiToken);
        }

        HttpResponseMessage response;
        try
        {
            response = await httpClient().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw GenerationException.Transient($"Downloading a Replicate output failed: {e.Message}", innerException: e);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var text = await ProviderHttp.ReadErrorTextAsync(response, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (ProviderHttp.IsTransient(response.StatusCode))
            {
                throw GenerationException.Transient(
                    $"Downloading a Replicate output failed with {status}: {text}", ProviderHttp.GetRetryAfter(response, timeProvider));
            }

            throw GenerationException.Permanent(
                $"Downloading a Replicate output failed with {status}: {text}. Replicate deletes outputs an hour after the prediction; the output is gone.");
        }
    }

    private Uri Api(string relative) => new(options.BaseUrl.AbsoluteUri.EndsWith('/') ? options.BaseUrl : new Uri(options.BaseUrl.AbsoluteUri + "/"), relative);

    private async Task<HttpResponseMessage> SendAsync(
        Func<HttpRequestMessage> createRequest,
        string operation,
        string subject,
        TimeSpan timeout,
        bool notFoundIsResult,
        CancellationToken cancellationToken)
    {
        for (var retry = 0; ; retry++)
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            var (response, failure) = await SendOnceAsync(createRequest, operation, subject, timeout, notFoundIsResult, cancellationToken).ConfigureAwait(false);
            if (response is not null)
            {
                return response;
            }

            if (failure!.IsRateLimited)
            {
                // The gate is already paused for every caller; waiting on it is the delay.
                if (retry >= options.MaxRequestRetries || failure.RetryAfter > options.MaxRetryWait)
                {
                    throw failure;
                }

                continue;
            }

            var delay = failure.RetryAfter ?? TimeSpan.FromTicks(options.RetryBaseDelay.Ticks * (1L << Math.Min(retry, 16)));
            if (retry >= options.MaxRequestRetries || delay > options.MaxRetryWait)
            {
                throw failure;
            }

            Log.RetryingCall(logger, operation, delay, retry + 1, options.MaxRequestRetries);
            await Task.Delay(delay, timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One call: the response when it is a result, or a transient failure to retry; permanent failures throw.</summary>
    private async Task<(HttpResponseMessage? Response, GenerationException? Failure)> SendOnceAsync(
        Func<HttpRequestMessage> createRequest,
        string operation,
        string subject,
        TimeSpan timeout,
        bool notFoundIsResult,
        CancellationToken cancellationToken)
    {
        using var request = createRequest();
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiToken);
        var (timeoutSource, linked) = ProviderHttp.CreateTimeout(timeout, timeProvider, cancellationToken);
        using (timeoutSource)
        using (linked)
        {
            HttpResponseMessage response;
            try
            {
                response = await httpClient().SendAsync(request, HttpCompletionOption.ResponseContentRead, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                return (null, GenerationException.Transient($"{Provider} did not answer the {operation} call for {subject} within {timeout}.", innerException: e));
            }
            catch (HttpRequestException e)
            {
                return (null, GenerationException.Transient($"The {Provider} {operation} call for {subject} failed: {e.Message}", innerException: e));
            }

            if (response.IsSuccessStatusCode || (notFoundIsResult && response.StatusCode == HttpStatusCode.NotFound))
            {
                return (response, null);
            }

            using (response)
            {
                var status = (int)response.StatusCode;
                var text = await ProviderHttp.ReadErrorTextAsync(response, cancellationToken).ConfigureAwait(false);
                Log.ProviderErrorText(logger, operation, status, text);
                var retryAfter = ProviderHttp.GetRetryAfter(response, timeProvider);
                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    var pause = retryAfter ?? options.DefaultRateLimitPause;
                    gate.Pause(pause);
                    Log.RateLimited(logger, operation, pause);
                    return (null, GenerationException.RateLimited($"{Provider} rate-limited the {operation} call for {subject} (429): {text}", pause));
                }

                if (ProviderHttp.IsTransient(response.StatusCode))
                {
                    return (null, GenerationException.Transient($"{Provider} failed the {operation} call for {subject} with {status}: {text}", retryAfter));
                }

                throw Permanent(response.StatusCode, operation, subject, text);
            }
        }
    }

    private static GenerationException Permanent(HttpStatusCode status, string operation, string subject, string text)
    {
        var code = (int)status;
        return status switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => GenerationException.Permanent(
                $"{Provider} refused the {operation} call for {subject} ({code}): {text}. Check MediaGen:Generators:Replicate:ApiToken and the account's access to the model."),
            HttpStatusCode.NotFound => GenerationException.Permanent(
                $"{Provider} found nothing for the {operation} call for {subject} (404): {text}. Check the model reference (owner/name, version) in the Replicate catalog and the BaseUrl."),
            HttpStatusCode.UnprocessableEntity or HttpStatusCode.BadRequest => GenerationException.Permanent(
                $"{Provider} rejected the input of the {operation} call for {subject} ({code}): {text}", MediaGenErrorCodes.ValidationFailed),
            _ => GenerationException.Permanent($"{Provider} refused the {operation} call for {subject} ({code}): {text}"),
        };
    }

    private static async Task<ReplicatePrediction> ReadPredictionAsync(HttpResponseMessage response, string operation, CancellationToken cancellationToken)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return ReplicatePrediction.Parse(bytes)
            ?? throw GenerationException.Transient($"{Provider} answered the {operation} call with {(int)response.StatusCode} but a body that is not a prediction.");
    }
}
