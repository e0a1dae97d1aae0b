using System.ClientModel;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using MediaGen.Generators.Http;

namespace MediaGen.Generators.ExtensionsAI.Internal;

/// <summary>A failed image call, classified.</summary>
/// <param name="Exception">What the job fails or is retried with; null when the outcome is unknown.</param>
/// <param name="Status">The HTTP status the provider answered, or 0 without an answer.</param>
/// <param name="Text">What went wrong, in the provider's words where it gave any.</param>
internal readonly record struct ImageCallFailure(GenerationException? Exception, int Status, string Text)
{
    /// <summary>Whether the failure proves nothing was generated (a refusal, a rate limit, a server error answered).</summary>
    public bool NothingGenerated => Exception is not null;
}

/// <summary>
/// Reads a failure of an <c>IImageGenerator</c> call: the status of the OpenAI and Azure clients'
/// <see cref="ClientResultException"/> or of an <see cref="HttpRequestException"/>, and whether the request reached the
/// provider at all. An answer other than a gateway timeout proves nothing was generated; a connection refused before the
/// request was sent does too. Anything else (a timeout, a connection lost after sending, an error the rules do not know)
/// leaves the outcome unknown.
/// </summary>
internal static class ImageCallFailures
{
    private static readonly string[] ContentPolicyCodes = ["content_policy_violation", "moderation_blocked", "content_filter", "safety_violation"];

    public static ImageCallFailure Classify(Exception exception, string provider, TimeSpan defaultPause, TimeProvider time)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case ClientResultException { Status: > 0 } result:
                    return FromStatus(result.Status, ErrorText(result), RetryAfter(result, time), provider, defaultPause, result);
                case HttpRequestException { StatusCode: { } status } http:
                    return FromStatus((int)status, http.Message, null, provider, defaultPause, http);
                case HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError } http:
                    // No connection, so no request: nothing can have been generated.
                    return new ImageCallFailure(
                        GenerationException.Transient($"{provider} could not be reached: {http.Message}", innerException: exception), 0, http.Message);
            }
        }

        return new ImageCallFailure(null, 0, exception.Message);
    }

    private static ImageCallFailure FromStatus(int status, string text, TimeSpan? retryAfter, string provider, TimeSpan defaultPause, Exception cause)
    {
        text = ProviderResponses.Shorten(text);
        GenerationException? failure = status switch
        {
            429 => GenerationException.RateLimited($"{provider} rate-limited the image call (429): {text}", retryAfter ?? defaultPause),

            // A gateway that timed out or lost the upstream cannot say whether the images were made.
            502 or 504 or 520 or 522 or 524 => null,
            408 or >= 500 => GenerationException.Transient($"{provider} failed the image call with {status}: {text}", retryAfter, cause),
            400 or 422 when IsContentPolicy(text) => GenerationException.Permanent(
                $"{provider} refused the prompt or the images by its content policy ({status}): {text}", MediaGenErrorCodes.ContentFiltered, cause),
            400 or 422 => GenerationException.Permanent($"{provider} rejected the image request ({status}): {text}", MediaGenErrorCodes.ValidationFailed, cause),
            401 or 403 => GenerationException.Permanent($"{provider} refused the image call ({status}): {text}. Check the API key and its access to the model.", innerException: cause),
            404 => GenerationException.Permanent($"{provider} found no such model or endpoint (404): {text}. Check the model and the endpoint.", innerException: cause),
            _ => GenerationException.Permanent($"{provider} refused the image call ({status}): {text}", innerException: cause),
        };
        return new ImageCallFailure(failure, status, text);
    }

    private static string ErrorText(ClientResultException result)
    {
        try
        {
            var body = result.GetRawResponse()?.Content?.ToString();
            if (!string.IsNullOrWhiteSpace(body))
            {
                var text = ProviderResponses.ExtractErrorText(body.Trim());
                return ErrorCode(body) is { } code && !text.Contains(code, StringComparison.Ordinal) ? $"{text} ({code})" : text;
            }
        }
        catch (InvalidOperationException)
        {
            // The body was not buffered: the exception's own message says what the client knew.
        }

        return result.Message;
    }

    /// <summary>The <c>error.code</c> of an OpenAI-style error body.</summary>
    private static string? ErrorCode(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
                && error.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String
                ? code.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool IsContentPolicy(string text) =>
        ContentPolicyCodes.Any(c => text.Contains(c, StringComparison.OrdinalIgnoreCase))
        || text.Contains("safety system", StringComparison.OrdinalIgnoreCase)
        || text.Contains("content policy", StringComparison.OrdinalIgnoreCase);

    /// <summary>OpenAI's <c>retry-after-ms</c>, else Retry-After in seconds or as an HTTP date.</summary>
    private static TimeSpan? RetryAfter(ClientResultException result, TimeProvider time)
    {
        var headers = result.GetRawResponse()?.Headers;
        if (headers is null)
        {
            return null;
        }

        if (headers.TryGetValue("retry-after-ms", out var ms)
            && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds) && milliseconds >= 0)
        {
            return TimeSpan.FromMilliseconds(milliseconds);
        }

        if (headers.TryGetValue("Retry-After", out var value) && RetryConditionHeaderValue.TryParse(value, out var retry))
        {
            var wait = retry.Delta ?? (retry.Date is { } date ? date - time.GetUtcNow() : TimeSpan.Zero);
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }
}
