using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MediaGen.Generators.Http;

namespace MediaGen.Generators.Replicate.Internal;

/// <summary>
/// The Replicate predictions API: create, list, get, cancel and output downloads. API calls go through the kit's
/// <see cref="ProviderHttpClient"/> (rate gate, retries honouring Retry-After, timeouts); this type holds only what
/// Replicate's requests and answers look like.
/// </summary>
internal sealed class ReplicateApiClient(ReplicateGeneratorOptions options, ProviderHttpClient http)
{
    private const string Provider = "Replicate";

    /// <summary>How many pages of a listing one look-up reads at most (Replicate serves 100 predictions a page).</summary>
    private const int MaxListPages = 20;

    /// <summary>
    /// Creates a prediction, once: Replicate has no idempotency key, so the call is retried only after a 429 or a
    /// connection that never opened. Any other failure after sending throws <see cref="MediaGenErrorCodes.OutcomeUnknown"/>
    /// (transient) for the caller to look the prediction up (<see cref="ListAsync"/>) before creating again.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="input">The input.</param>
    /// <param name="cancelAfter">Sent as <c>Cancel-After</c>: Replicate stops the prediction (unbilled while it has not started) after this long; null sends none.</param>
    /// <param name="beforeSend">Runs right before each try is sent, after any wait at the rate gate.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The prediction.</returns>
    public async Task<ReplicatePrediction> CreateAsync(
        ReplicateModel model, JsonObject input, TimeSpan? cancelAfter, Func<CancellationToken, ValueTask>? beforeSend, CancellationToken cancellationToken)
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

        body["input"] = input.DeepClone();
        var json = body.ToJsonString();

        var call = new ProviderCall("create", $"model '{model.Id}' ({model.Reference})")
        {
            Timeout = CreateTimeout,
            IsIdempotent = false,
            BeforeSendAsync = beforeSend,
        };
        var deadline = cancelAfter is { } lifetime ? FormatCancelAfter(lifetime) : null;
        using var response = await http.SendAsync(
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
                if (options.PreferWaitSeconds is { } wait)
                {
                    request.Headers.TryAddWithoutValidation("Prefer", $"wait={wait}");
                }

                if (deadline is not null)
                {
                    request.Headers.TryAddWithoutValidation("Cancel-After", deadline);
                }

                return request;
            },
            call,
            cancellationToken).ConfigureAwait(false);
        return await ReadPredictionAsync(response, "create", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>How long one create call may take: the call timeout plus any <c>Prefer: wait</c> window.</summary>
    public TimeSpan CreateTimeout => options.RequestTimeout + TimeSpan.FromSeconds(options.PreferWaitSeconds ?? 0);

    /// <summary>
    /// A <c>Cancel-After</c> value: whole seconds, rounded up, and at least the 5 seconds Replicate accepts.
    /// </summary>
    /// <param name="lifetime">How long the prediction may live.</param>
    /// <returns>The header value, for example <c>95s</c>.</returns>
    public static string FormatCancelAfter(TimeSpan lifetime) =>
        string.Create(CultureInfo.InvariantCulture, $"{Math.Max(5, (long)Math.Ceiling(lifetime.TotalSeconds))}s");

    /// <summary>
    /// Lists the predictions created between <paramref name="createdAfter"/> and <paramref name="createdBefore"/>, newest
    /// first (<c>GET /v1/predictions</c> with <c>created_after</c> and <c>created_before</c>), following the listing's
    /// <c>next</c> pages on the API's own host, at most <see cref="MaxListPages"/> of them.
    /// </summary>
    /// <param name="createdAfter">The earliest creation time (rounded down to the second).</param>
    /// <param name="createdBefore">The latest creation time (rounded up to the second).</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The predictions.</returns>
    /// <exception cref="GenerationException">The listing failed, or had more pages than are read (transient: it cannot prove a prediction absent).</exception>
    public async IAsyncEnumerable<ReplicatePrediction> ListAsync(
        DateTimeOffset createdAfter, DateTimeOffset createdBefore, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var from = createdAfter.UtcTicks - (createdAfter.UtcTicks % TimeSpan.TicksPerSecond);
        var to = createdBefore.UtcTicks + TimeSpan.TicksPerSecond - 1;
        to -= to % TimeSpan.TicksPerSecond;
        var url = Api($"v1/predictions?created_after={Iso(from)}&created_before={Iso(to)}");
        for (var page = 1; url is not null; page++)
        {
            if (page > MaxListPages)
            {
                throw GenerationException.Transient($"{Provider} listed more than {MaxListPages} pages of predictions in the look-up window; a lost prediction cannot be ruled out.");
            }

            var pageUrl = url;
            using var response = await http.SendAsync(
                () => new HttpRequestMessage(HttpMethod.Get, pageUrl),
                new ProviderCall("list", "recent predictions"),
                cancellationToken).ConfigureAwait(false);
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            List<ReplicatePrediction> results;
            (results, url) = ReadPage(bytes);
            foreach (var prediction in results)
            {
                yield return prediction;
            }
        }

        static string Iso(long ticks) => Uri.EscapeDataString(new DateTimeOffset(ticks, TimeSpan.Zero).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Gets a model's <c>openapi_schema</c>: the pinned version's (<c>GET /v1/models/{owner}/{name}/versions/{id}</c>)
    /// when there is one, else the latest version's (<c>GET /v1/models/{owner}/{name}</c>).
    /// </summary>
    public async Task<JsonElement> GetInputSchemaAsync(string owner, string name, string? version, CancellationToken cancellationToken)
    {
        var path = $"v1/models/{Uri.EscapeDataString(owner)}/{Uri.EscapeDataString(name)}";
        var url = Api(string.IsNullOrWhiteSpace(version) ? path : $"{path}/versions/{Uri.EscapeDataString(version)}");
        using var response = await http.SendAsync(
            () => new HttpRequestMessage(HttpMethod.Get, url),
            new ProviderCall("model", $"model '{owner}/{name}'"),
            cancellationToken).ConfigureAwait(false);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            var holder = string.IsNullOrWhiteSpace(version) && root.TryGetProperty("latest_version", out var latest) ? latest : root;
            return holder.ValueKind == JsonValueKind.Object && holder.TryGetProperty("openapi_schema", out var schema)
                ? schema.Clone()
                : throw GenerationException.Permanent($"{Provider} answered for model '{owner}/{name}' without an openapi_schema.");
        }
        catch (JsonException e)
        {
            throw GenerationException.Transient($"{Provider} answered for model '{owner}/{name}' with a body that is not JSON.", innerException: e);
        }
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
        try
        {
            return await http.DownloadAsync(url, cancellationToken).ConfigureAwait(false);
        }
        catch (GenerationException e) when (e.ErrorCode == MediaGenErrorCodes.ProviderOutputExpired)
        {
            throw GenerationException.Permanent(
                $"{e.Message} Replicate deletes outputs an hour after the prediction; the output is gone.", MediaGenErrorCodes.ProviderOutputExpired, e);
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

    /// <summary>Reads one page of a listing: its predictions, and the next page when it is on the API's own host.</summary>
    private (List<ReplicatePrediction> Results, Uri? Next) ReadPage(byte[] bytes)
    {
        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("results", out var items) || items.ValueKind != JsonValueKind.Array)
            {
                throw GenerationException.Transient($"{Provider} answered the list call with a body that is not a listing of predictions.");
            }

            var results = new List<ReplicatePrediction>();
            foreach (var item in items.EnumerateArray())
            {
                if (ReplicatePrediction.From(item) is { } prediction)
                {
                    results.Add(prediction);
                }
            }

            Uri? next = null;
            if (root.TryGetProperty("next", out var link) && link.ValueKind == JsonValueKind.String && Uri.TryCreate(link.GetString(), UriKind.Absolute, out var candidate))
            {
                // The token goes only to the API's own host, whatever a listing says.
                next = Uri.Compare(candidate, options.BaseUrl, UriComponents.SchemeAndServer, UriFormat.UriEscaped, StringComparison.OrdinalIgnoreCase) == 0
                    ? candidate
                    : throw GenerationException.Transient($"{Provider} answered the list call with a next page on another host ({candidate.Host}); it is not followed.");
            }

            return (results, next);
        }
        catch (JsonException e)
        {
            throw GenerationException.Transient($"{Provider} answered the list call with a body that is not JSON.", innerException: e);
        }
    }

    private Uri Api(string relative) => new(options.BaseUrl.AbsoluteUri.EndsWith('/') ? options.BaseUrl : new Uri(options.BaseUrl.AbsoluteUri + "/"), relative);

    private static async Task<ReplicatePrediction> ReadPredictionAsync(HttpResponseMessage response, string operation, CancellationToken cancellationToken)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return ReplicatePrediction.Parse(bytes)
            ?? throw GenerationException.Transient($"{Provider} answered the {operation} call with {(int)response.StatusCode} but a body that is not a prediction.");
    }
}
