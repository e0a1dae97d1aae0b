namespace MediaGen;

/// <summary>The image encoding a request asks for.</summary>
public enum OutputFormat
{
    /// <summary>PNG (image/png).</summary>
    Png = 0,

    /// <summary>JPEG (image/jpeg).</summary>
    Jpeg = 1,

    /// <summary>WebP (image/webp).</summary>
    Webp = 2,
}

/// <summary>Maps <see cref="OutputFormat"/> values and content types to file extensions.</summary>
public static class MediaTypes
{
    /// <summary>The content type of <paramref name="format"/>.</summary>
    /// <param name="format">The format.</param>
    /// <returns>A MIME type such as <c>image/png</c>.</returns>
    public static string ToContentType(this OutputFormat format) => format switch
    {
        OutputFormat.Jpeg => "image/jpeg",
        OutputFormat.Webp => "image/webp",
        _ => "image/png",
    };

    /// <summary>The file extension (without a dot) that output keys use for a content type.</summary>
    /// <param name="contentType">A MIME type; parameters after <c>;</c> are ignored.</param>
    /// <returns><c>png</c>, <c>jpg</c>, <c>webp</c>, <c>gif</c>, <c>mp4</c>, or <c>bin</c> for anything else.</returns>
    public static string ToExtension(string? contentType)
    {
        var type = contentType.AsSpan();
        var semicolon = type.IndexOf(';');
        if (semicolon >= 0)
        {
            type = type[..semicolon];
        }

        type = type.Trim();
        return type switch
        {
            _ when type.Equals("image/png", StringComparison.OrdinalIgnoreCase) => "png",
            _ when type.Equals("image/jpeg", StringComparison.OrdinalIgnoreCase) => "jpg",
            _ when type.Equals("image/jpg", StringComparison.OrdinalIgnoreCase) => "jpg",
            _ when type.Equals("image/webp", StringComparison.OrdinalIgnoreCase) => "webp",
            _ when type.Equals("image/gif", StringComparison.OrdinalIgnoreCase) => "gif",
            _ when type.Equals("video/mp4", StringComparison.OrdinalIgnoreCase) => "mp4",
            _ => "bin",
        };
    }
}
