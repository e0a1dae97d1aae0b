using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using MediaGen.Generators.Http;

namespace MediaGen.Generators.Replicate.Internal;

/// <summary>
/// The Replicate predictions API: create, get, cancel and output downloads. API calls go through the kit's
/// <see cref="ProviderHttpClient"/> (rate gate, retries honouring Retry-After, timeouts); this type holds only what
/// Replicate's requests and answers look like.
/// </summary>
internal sealed class ReplicateApiClient(ReplicateGeneratorOptions options, Func<HttpClient> httpClient, ProviderHttpClient http, TimeProvider timeProvider)
{
    private const string Provider = "Replicate";

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

        // A create is not idempotent on Replicate's side; it is retried only after answers that say nothing was
        // created (429, 5xx) or after a network error, where the alternative (failing the attempt) retries it too.
        var call = new ProviderCall("create", $"model '{model.Id}' ({model.Reference})")
        {
            Timeout = options.RequestTimeout + TimeSpan.FromSeconds(options.PreferWaitSeconds ?? 0),
        };
        using var response = await http.SendAsync(
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
                if (options.PreferWaitSeconds is { } wait)
                {
                    request.Headers.TryAddWithoutValidation("Prefer", $"wait={wait}");
                }

                return request;
            },
            call,
            cancellationToken).ConfigureAwait(false);
        return await ReadPredictionAsync(response, "create", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Gets a prediction; null when Replicate answers 404.</summary>
    public async Task<ReplicatePrediction?> GetAsync(string predictionId, CancellationToken cancellationToken)
    {
        var url = Api($"v1/predictions/{Uri.EscapeDataString(predictionId)}");
        using var response = await http.SendAsync(
            () => new HttpRequestMessage(HttpMethod.Get, url),
            new ProviderCall("get", $"prediction '{predictionId}'") { NotFoundIsResult = true },
            cancellationToken).ConfigureAwait(false);
        return response.StatusCode == HttpStatusCode.NotFound
            ? null
            : await ReadPredictionAsync(response, "get", cancellationToken).ConfigureAwait(false);
    }

    public async Task CancelAsync(string predictionId, CancellationToken cancellationToken)
    {
        var url = Api($"v1/predictions/{Uri.EscapeDataString(predictionId)}/cancel");
        using var response = await http.SendAsync(
            () => new HttpRequestMessage(HttpMethod.Post, url),
            new ProviderCall("cancel", $"prediction '{predictionId}'") { NotFoundIsResult = true },
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
            var text = await ProviderResponses.ReadErrorTextAsync(response, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (ProviderResponses.IsTransient(response.StatusCode))
            {
                throw GenerationException.Transient(
                    $"Downloading a Replicate output failed with {status}: {text}", ProviderResponses.GetRetryAfter(response, timeProvider));
            }

            throw GenerationException.Permanent(
                $"Downloading a Replicate output failed with {status}: {text}. Replicate deletes outputs an hour after the prediction; the output is gone.");
        }
    }

    /// <summary>What an error answer of the API means: transient (5xx, 408) or permanent, with what to fix.</summary>
    public static GenerationException Classify(ProviderFailure failure)
    {
        var (operation, subject, text, code) = (failure.Call.Operation, failure.Call.Subject, failure.Text, (int)failure.Status);
        if (failure.IsTransientStatus)
        {
            return GenerationException.Transient($"{Provider} failed the {operation} call for {subject} with {code}: {text}", failure.RetryAfter);
        }

        return failure.Status switch
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

    private Uri Api(string relative) => new(options.BaseUrl.AbsoluteUri.EndsWith('/') ? options.BaseUrl : new Uri(options.BaseUrl.AbsoluteUri + "/"), relative);

    private static async Task<ReplicatePrediction> ReadPredictionAsync(HttpResponseMessage response, string operation, CancellationToken cancellationToken)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return ReplicatePrediction.Parse(bytes)
            ?? throw GenerationException.Transient($"{Provider} answered the {operation} call with {(int)response.StatusCode} but a body that is not a prediction.");
    }
}
