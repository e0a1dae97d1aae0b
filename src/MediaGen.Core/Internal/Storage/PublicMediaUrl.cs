namespace MediaGen.Internal;

/// <summary>Makes a storage read URL absolute for a reader elsewhere: the one rule responses and webhooks share.</summary>
internal static class PublicMediaUrl
{
    /// <summary>
    /// <paramref name="url"/> when it is absolute or there is no <paramref name="baseUrl"/>; otherwise the URL relative to
    /// <paramref name="baseUrl"/>'s path, so a host under a path base (<c>https://example.com/app/</c>) keeps it.
    /// </summary>
    public static Uri Resolve(Uri? baseUrl, Uri url) =>
        url.IsAbsoluteUri || baseUrl is null ? url : new Uri(baseUrl, url.OriginalString.TrimStart('/'));
}
