using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MediaGen.Generators.Http.Internal;
using MediaGen.Shared;

namespace MediaGen.Generators.Http;

/// <summary>What provider generators read out of HTTP responses: Retry-After, error text, content types, data URIs.</summary>
public static class ProviderResponses
{
    private const int MaxErrorBytes = 8 * 1024;
    private const int MaxErrorChars = 1000;

    /// <summary>Whether a status is worth retrying: 408, 429 and every 5xx.</summary>
    /// <param name="status">The status.</param>
    /// <returns>Whether a later call may succeed.</returns>
    public static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500;

    /// <summary>
    /// Reads Retry-After as a delay from now; it may be seconds or an HTTP date. A longer delay than
    /// <see cref="ProviderRateGate.MaxPause"/> (a quota that resets monthly, say) is read as that.
    /// </summary>
    /// <param name="response">The response.</param>
    /// <param name="timeProvider">The clock an HTTP date is measured against.</param>
    /// <returns>The delay, or null when the header is absent or unreadable.</returns>
    public static TimeSpan? GetRetryAfter(HttpResponseMessage response, TimeProvider timeProvider)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return Bounded(delta);
        }

        if (header?.Date is { } date)
        {
            return Bounded(date - timeProvider.GetUtcNow());
        }

        return null;

        static TimeSpan Bounded(TimeSpan wait) => wait < TimeSpan.Zero ? TimeSpan.Zero : wait > ProviderRateGate.MaxPause ? ProviderRateGate.MaxPause : wait;
    }

    /// <summary>
    /// Reads when a rate limit resets from the <c>RateLimit</c> header of the IETF rate-limit fields (for example
    /// <c>"api";r=0;t=30</c>: the largest <c>t</c> of its policies, in seconds) or the older <c>RateLimit-Reset</c> (seconds).
    /// Hugging Face signals its limits this way.
    /// </summary>
    /// <param name="response">The response.</param>
    /// <returns>The delay, or null when neither header is present and readable.</returns>
    public static TimeSpan? GetRateLimitReset(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        long? reset = null;
        if (response.Headers.TryGetValues("RateLimit", out var fields))
        {
            foreach (var item in fields.SelectMany(f => f.Split(',')))
            {
                foreach (var parameter in item.Split(';'))
                {
                    var pair = parameter.Trim();
                    if (pair.StartsWith("t=", StringComparison.OrdinalIgnoreCase)
                        && long.TryParse(pair.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
                    {
                        reset = Math.Max(reset ?? 0, seconds);
                    }
                }
            }
        }

        if (reset is null && response.Headers.TryGetValues("RateLimit-Reset", out var resets)
            && long.TryParse(resets.First().Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var old))
        {
            reset = old;
        }

        return reset is { } value ? TimeSpan.FromSeconds(Math.Min(value, (long)ProviderRateGate.MaxPause.TotalSeconds)) : null;
    }

    /// <summary>
    /// Reads the provider's own error text from an error response: the <c>detail</c>, <c>error</c>, <c>message</c> or
    /// <c>title</c> field of a JSON body, or the body itself, shortened; the reason phrase when the body is empty.
    /// </summary>
    /// <param name="response">The response.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The text; never null.</returns>
    public static async Task<string> ReadErrorTextAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        var body = await ReadBodyStartAsync(response, cancellationToken).ConfigureAwait(false);
        var text = ExtractErrorText(body);
        if (string.IsNullOrWhiteSpace(text))
        {
            text = response.ReasonPhrase ?? response.StatusCode.ToString();
        }

        return Shorten(text);
    }

    /// <summary>Shortens a provider's error text to at most 1,000 characters (and an ellipsis).</summary>
    /// <param name="text">The text.</param>
    /// <returns>The text, shortened when longer.</returns>
    public static string Shorten(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Length > MaxErrorChars ? string.Concat(text.AsSpan(0, MaxErrorChars), "...") : text;
    }

    /// <summary>Reads the first 8 KiB of a response's body as trimmed UTF-8 text; empty when the body cannot be read.</summary>
    /// <param name="response">The response.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The text.</returns>
    public static async Task<string> ReadBodyStartAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var buffer = new byte[MaxErrorBytes];
                var total = 0;
                int read;
                while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    total += read;
                }

                return Encoding.UTF8.GetString(buffer, 0, total).Trim();
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return string.Empty;
        }
    }

    /// <summary>Picks the human-readable error out of a JSON error body, or returns the body as it is.</summary>
    /// <param name="body">The body text.</param>
    /// <returns>The error text.</returns>
    public static string ExtractErrorText(string body)
    {
        if (body.Length == 0 || body[0] != '{')
        {
            return body;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            foreach (var name in (ReadOnlySpan<string>)["detail", "error", "message", "title"])
            {
                if (root.TryGetProperty(name, out var value))
                {
                    var text = value.ValueKind switch
                    {
                        JsonValueKind.String => value.GetString(),
                        JsonValueKind.Array => string.Join("; ", value.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString() : e.GetRawText())),
                        JsonValueKind.Object when value.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String => message.GetString(),
                        _ => null,
                    };
                    if (!string.IsNullOrWhiteSpace(text))
                    {
                        return text;
                    }
                }
            }
        }
        catch (JsonException)
        {
        }

        return body;
    }

    /// <summary>
    /// The content type a response declares, when it is one an output may be stored as (see
    /// <see cref="OutputContentType(string?)"/>).
    /// </summary>
    /// <param name="header">The Content-Type header.</param>
    /// <returns>The media type, or null when absent, generic (for example <c>application/octet-stream</c>) or not a raster image or video MediaGen stores.</returns>
    public static string? MediaContentType(MediaTypeHeaderValue? header) => OutputContentType(header?.MediaType);

    /// <summary>
    /// The media type an output declaring <paramref name="declared"/> is stored as: only the raster image and video
    /// types MediaGen stores and serves (PNG, JPEG, WebP, GIF, MP4), so a model's output is never kept as HTML, SVG,
    /// XML or script that a browser would run on the API's origin.
    /// </summary>
    /// <param name="declared">The declared media type, with or without parameters.</param>
    /// <returns>The normalized media type, or null when it is not one an output may be stored as.</returns>
    public static string? OutputContentType(string? declared)
    {
        if (string.IsNullOrWhiteSpace(declared))
        {
            return null;
        }

        var semicolon = declared.IndexOf(';', StringComparison.Ordinal);
        var type = (semicolon >= 0 ? declared[..semicolon] : declared).Trim().ToLowerInvariant();
        return type switch
        {
            "image/png" or "image/jpeg" or "image/webp" or "image/gif" or "video/mp4" => type,
            "image/jpg" => "image/jpeg",
            _ => null,
        };
    }

    /// <summary>
    /// The media type an output whose bytes are at hand is stored as: the declared type when it is one an output may be
    /// stored as (see <see cref="OutputContentType(string?)"/>), else what the leading bytes show when they are such a
    /// format (a PNG declared as <c>image/svg+xml</c> is kept as the PNG it is).
    /// </summary>
    /// <param name="declared">The declared media type.</param>
    /// <param name="content">The output's bytes, or at least their start.</param>
    /// <returns>The media type, or null when neither the declaration nor the bytes name one an output may be stored as.</returns>
    public static string? OutputContentType(string? declared, ReadOnlySpan<byte> content) =>
        OutputContentType(declared) ?? SniffMediaType(content);

    /// <summary>The media type the leading bytes of a file show: PNG, JPEG, WebP, GIF or MP4 (ISO base media).</summary>
    /// <param name="content">The file's bytes, or at least its first 12.</param>
    /// <returns>The media type, or null when the bytes are none of these.</returns>
    public static string? SniffMediaType(ReadOnlySpan<byte> content) => content switch
    {
        [0x89, 0x50, 0x4E, 0x47, ..] => "image/png",
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [0x52, 0x49, 0x46, 0x46, _, _, _, _, 0x57, 0x45, 0x42, 0x50, ..] => "image/webp",
        [0x47, 0x49, 0x46, 0x38, ..] => "image/gif",
        [_, _, _, _, 0x66, 0x74, 0x79, 0x70, ..] => "video/mp4",
        _ => null,
    };

    /// <summary>Infers a media type from a URL's file extension.</summary>
    /// <param name="url">The URL.</param>
    /// <returns>The media type, or null when the extension says nothing.</returns>
    public static string? InferContentType(Uri url)
    {
        var path = url.IsAbsoluteUri ? url.AbsolutePath : url.OriginalString;
        var extension = Path.GetExtension(path);
        return extension.ToUpperInvariant() switch
        {
            ".PNG" => "image/png",
            ".JPG" or ".JPEG" => "image/jpeg",
            ".WEBP" => "image/webp",
            ".GIF" => "image/gif",
            ".MP4" => "video/mp4",
            _ => null,
        };
    }

    /// <summary>Decodes a <c>data:</c> URI with base64 content, such as <c>data:image/png;base64,...</c>.</summary>
    /// <param name="value">The URI text.</param>
    /// <param name="contentType">The media type it declares (<c>application/octet-stream</c> when none).</param>
    /// <param name="content">The decoded bytes.</param>
    /// <returns>Whether <paramref name="value"/> is a base64 data URI that decoded.</returns>
    public static bool TryDecodeDataUri(string value, out string contentType, out byte[] content)
    {
        contentType = "application/octet-stream";
        content = [];
        if (!value.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var comma = value.IndexOf(',', StringComparison.Ordinal);
        if (comma < 0)
        {
            return false;
        }

        var meta = value.AsSpan(5, comma - 5);
        if (!meta.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        meta = meta[..^";base64".Length];
        var semicolon = meta.IndexOf(';');
        var type = (semicolon >= 0 ? meta[..semicolon] : meta).Trim();
        if (!type.IsEmpty)
        {
            contentType = type.ToString().ToLowerInvariant();
        }

        try
        {
            content = Convert.FromBase64String(value[(comma + 1)..]);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Opens a successful response's body as a stream that disposes the response with it.</summary>
    /// <param name="response">The response, read with <see cref="HttpCompletionOption.ResponseHeadersRead"/>; owned by the stream from now on.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The body.</returns>
    public static async ValueTask<Stream> OpenBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        try
        {
            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return new OwningReadStream(body, response, response.Content.Headers.ContentLength);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}
