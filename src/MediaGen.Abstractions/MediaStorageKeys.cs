using System.Globalization;

namespace MediaGen;

/// <summary>
/// Builds and checks storage keys, the same way for every <see cref="IMediaStorage"/>. Output keys are
/// deterministic, <c>{jobId}/{index}.{ext}</c>, so a retried job overwrites instead of duplicating.
/// </summary>
public static class MediaStorageKeys
{
    /// <summary>The longest key accepted.</summary>
    public const int MaxLength = 1024;

    /// <summary>The key of a job's output.</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="index">The output's index, from 0.</param>
    /// <param name="contentType">The output's MIME type, which picks the extension.</param>
    /// <returns><c>{jobId}/{index}.{ext}</c>.</returns>
    public static string ForOutput(string jobId, int index, string contentType) =>
        string.Create(CultureInfo.InvariantCulture, $"{jobId}/{index}.{MediaTypes.ToExtension(contentType)}");

    /// <summary>The key of an output's thumbnail, beside the output.</summary>
    /// <param name="jobId">The job id.</param>
    /// <param name="index">The output's index, from 0.</param>
    /// <param name="contentType">The thumbnail's MIME type, which picks the extension.</param>
    /// <returns><c>{jobId}/{index}.thumb.{ext}</c>.</returns>
    public static string ForThumbnail(string jobId, int index, string contentType) =>
        string.Create(CultureInfo.InvariantCulture, $"{jobId}/{index}.thumb.{MediaTypes.ToExtension(contentType)}");

    /// <summary>The prefix under which all of a job's outputs live.</summary>
    /// <param name="jobId">The job id.</param>
    /// <returns><c>{jobId}/</c>.</returns>
    public static string JobPrefix(string jobId) => jobId + "/";

    /// <summary>Refuses keys that are empty, too long, absolute, use backslashes or colons, or have empty, <c>.</c>, <c>..</c> or control-character segments.</summary>
    /// <param name="key">The key.</param>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is null.</exception>
    /// <exception cref="InvalidStorageKeyException">The key is not acceptable.</exception>
    public static void Validate(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0)
        {
            throw new InvalidStorageKeyException(key, "It is empty.");
        }

        if (key.Length > MaxLength)
        {
            throw new InvalidStorageKeyException(key, $"It is longer than {MaxLength} characters.");
        }

        if (key[0] == '/' || key.Contains('\\', StringComparison.Ordinal) || key.Contains(':', StringComparison.Ordinal))
        {
            throw new InvalidStorageKeyException(key, "It must be relative and use '/' separators.");
        }

        // Segment by segment over the key itself: a key is checked on every save, read and URL, so no array of segments.
        var rest = key.AsSpan();
        while (true)
        {
            var slash = rest.IndexOf('/');
            var segment = slash < 0 ? rest : rest[..slash];
            if (segment.IsEmpty || segment is "." or "..")
            {
                throw new InvalidStorageKeyException(key, "It has an empty, '.' or '..' segment.");
            }

            foreach (var c in segment)
            {
                if (char.IsControl(c))
                {
                    throw new InvalidStorageKeyException(key, "It contains a control character.");
                }
            }

            if (slash < 0)
            {
                return;
            }

            rest = rest[(slash + 1)..];
        }
    }

    /// <summary>Checks a prefix for <see cref="IMediaStorage.DeletePrefixAsync"/>: a valid key followed by <c>/</c>.</summary>
    /// <param name="prefix">The prefix.</param>
    /// <exception cref="InvalidStorageKeyException">The prefix is not acceptable.</exception>
    public static void ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (!prefix.EndsWith('/'))
        {
            throw new InvalidStorageKeyException(prefix, "A prefix must end with '/'.");
        }

        Validate(prefix[..^1]);
    }

    /// <summary>
    /// Normalises a storage's configured root prefix (such as <c>media/outputs</c>): no <c>/</c> at the start, one at the
    /// end, or empty for none.
    /// </summary>
    /// <param name="prefix">The configured prefix; null or blank for none.</param>
    /// <returns>The prefix to put before every key.</returns>
    /// <exception cref="InvalidStorageKeyException">The prefix has an empty, <c>.</c> or <c>..</c> segment or another forbidden character.</exception>
    public static string NormalizeRootPrefix(string? prefix)
    {
        var trimmed = (prefix ?? string.Empty).Trim('/');
        if (trimmed.Length == 0)
        {
            return string.Empty;
        }

        Validate(trimmed);
        return trimmed + "/";
    }

    /// <summary>Whether <see cref="NormalizeRootPrefix"/> accepts <paramref name="prefix"/>, for options validation.</summary>
    /// <param name="prefix">The configured prefix.</param>
    /// <returns><see langword="true"/> when it is acceptable.</returns>
    public static bool IsValidRootPrefix(string? prefix)
    {
        try
        {
            NormalizeRootPrefix(prefix);
            return true;
        }
        catch (InvalidStorageKeyException)
        {
            return false;
        }
    }
}
