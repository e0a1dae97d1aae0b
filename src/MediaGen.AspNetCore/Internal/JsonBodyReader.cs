using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace MediaGen.AspNetCore.Internal;

/// <summary>
/// Reads a JSON body with the API's own rules instead of the framework's binding, so every failure is one of ours: 415
/// for a body that is not JSON, 413 past the size limit (checked before and while reading, never buffering more), 400
/// with the failing field for malformed JSON, wrong types or invalid UTF-8; and 400 (a field validation error) for a
/// string in a submission's <c>parameters</c> that is not valid Unicode.
/// </summary>
internal static class JsonBodyReader
{
    public static async Task<T> ReadAsync<T>(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
        where T : class
    {
        if (!request.HasJsonContentType())
        {
            throw NotJson();
        }

        if (request.ContentLength > maxBytes)
        {
            throw TooLarge(maxBytes);
        }

        // Let the server stop reading past the limit too, where it allows a per-request limit.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = maxBytes + 1L;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(maxBytes + 1, 16 * 1024));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > maxBytes)
                    {
                        throw TooLarge(maxBytes);
                    }

                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxBytes + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                int read;
                try
                {
                    read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                }
                catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
                {
                    // The server's own limit, set above: the same answer as ours.
                    throw TooLarge(maxBytes);
                }

                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > maxBytes)
                {
                    throw TooLarge(maxBytes);
                }
            }

            var body = Parse<T>(buffer.AsSpan(0, length));
            if (body is CreateGenerationBody { Parameters: { Count: > 0 } parameters })
            {
                CheckText(parameters);
            }

            return body;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static T Parse<T>(ReadOnlySpan<byte> json)
        where T : class
    {
        if (json.IsEmpty)
        {
            throw Malformed("body", "The request body is empty; send a JSON object.");
        }

        try
        {
            return JsonSerializer.Deserialize(json, ApiJson.TypeInfo<T>()) ?? throw Malformed("body", "The request body must be a JSON object, not null.");
        }
        catch (JsonException e)
        {
            // "$.parameters.deep" -> "parameters.deep"; "$" (the body itself) -> "body". Paths can hold the request's own
            // property names, so they are cut short.
            var field = e.Path is { Length: > 2 } p && p.StartsWith("$.", StringComparison.Ordinal) ? ProblemResponses.Truncate(p[2..]) : null;
            var path = field ?? "body";
            var detail = field is not null && IsUnknownField<T>(field)
                ? $"The body has a field this endpoint does not take: '{path}'. It takes {FieldNames<T>()}."
                : e.LineNumber is { } line
                    ? string.Create(CultureInfo.InvariantCulture, $"The JSON body could not be read at line {line + 1}, position {e.BytePositionInLine + 1}.")
                    : "The JSON body could not be read.";
            throw Malformed(path, detail);
        }
        catch (InvalidOperationException)
        {
            // Text that is valid JSON but not valid UTF-16 once unescaped (a lone surrogate such as "\ud800").
            throw Malformed("body", "The JSON body holds a string that is not valid Unicode.");
        }
    }

    /// <summary>
    /// Refuses a submission whose <c>parameters</c> hold a string (or a property name), at any depth, that is not valid
    /// Unicode once unescaped: a lone surrogate escape such as <c>"\ud800"</c>.
    /// </summary>
    /// <remarks>
    /// The serializer refuses such text in every typed field, because it reads them as strings. A parameter stays a
    /// <see cref="JsonElement"/> and its text is read only later, by whatever takes it (the model's rules, a generator,
    /// a store, a webhook), where <see cref="JsonElement.GetString"/> throws. The edge where the JSON is read is the one
    /// place that sees every string of every parameter, whatever the model declares, so the check is made here, before
    /// anything is charged or stored.
    /// </remarks>
    private static void CheckText(Dictionary<string, JsonElement> parameters)
    {
        Dictionary<string, string[]>? errors = null;
        var path = new List<string>();
        foreach (var (name, value) in parameters)
        {
            path.Clear();
            if (!IsUnicode(value, path))
            {
                path.Add("parameters." + name);
                path.Reverse();
                errors ??= new Dictionary<string, string[]>(StringComparer.Ordinal);
                errors[string.Concat(path)] = ["Must be valid Unicode text, without an unpaired surrogate escape such as \\ud800."];
            }
        }

        if (errors is not null)
        {
            throw new RequestValidationException(errors);
        }
    }

    /// <summary>
    /// Whether every string and property name in <paramref name="value"/> is valid Unicode; when not, <paramref name="path"/>
    /// holds the way to the first that is not, innermost first (<c>.name</c>, <c>[index]</c>).
    /// </summary>
    private static bool IsUnicode(JsonElement value, List<string> path)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return CanRead(value);
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in value.EnumerateArray())
                {
                    if (!IsUnicode(item, path))
                    {
                        path.Add(string.Create(CultureInfo.InvariantCulture, $"[{index}]"));
                        return false;
                    }

                    index++;
                }

                return true;
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return false;
                    }

                    if (!IsUnicode(property.Value, path))
                    {
                        path.Add("." + name);
                        return false;
                    }
                }

                return true;
            default:
                return true;
        }

        static bool CanRead(JsonElement text)
        {
            try
            {
                _ = text.GetString();
                return true;
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="field"/> names a top-level field that <typeparamref name="T"/> does not have: the failure was
    /// an unknown field (<see cref="ApiJson"/> refuses them), not a malformed value. The request types nest no objects of
    /// their own, so an unknown field can only be a top-level one.
    /// </summary>
    private static bool IsUnknownField<T>(string field)
    {
        if (field.Contains('.', StringComparison.Ordinal) || field.Contains('[', StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var property in ApiJson.TypeInfo<T>().Properties)
        {
            if (string.Equals(property.Name, field, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The top-level fields <typeparamref name="T"/> takes, as the body names them, for an unknown field's error.</summary>
    private static string FieldNames<T>() => string.Join(", ", ApiJson.TypeInfo<T>().Properties.Select(p => p.Name));

    public static ApiRequestException NotJson() => new(
        StatusCodes.Status415UnsupportedMediaType,
        MediaGenerationApiErrorCodes.UnsupportedMediaType,
        "The request body must be JSON.",
        "Send the body with Content-Type: application/json.");

    private static ApiRequestException Malformed(string path, string detail) => new(
        StatusCodes.Status400BadRequest,
        MediaGenerationApiErrorCodes.MalformedJson,
        "The request body is not valid JSON for this endpoint.",
        detail,
        new Dictionary<string, string[]> { [path] = [detail] });

    private static ApiRequestException TooLarge(int maxBytes) => new(
        StatusCodes.Status413PayloadTooLarge,
        MediaGenerationApiErrorCodes.RequestTooLarge,
        "The request body is too large.",
        string.Create(CultureInfo.InvariantCulture, $"The body may be at most {maxBytes} bytes."));
}
