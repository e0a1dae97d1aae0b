namespace MediaGen;

/// <summary>
/// Reads a stored output image and makes its thumbnail. Optional: with one registered (an imaging package adds it), the
/// worker reads each output back after storing it, records the image's true width, height and format on the output,
/// and stores the thumbnail beside it under <see cref="MediaStorageKeys.ForThumbnail"/>. Thumbnails are best effort: a
/// failure is logged and counted and never fails the job.
/// </summary>
public interface IImageThumbnailer
{
    /// <summary>Reads the image in <paramref name="source"/> and writes its thumbnail to <paramref name="destination"/>.</summary>
    /// <param name="source">The stored output, read from its start; it may not be seekable.</param>
    /// <param name="destination">Where to write the thumbnail.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>What the image is, and what the thumbnail is.</returns>
    /// <exception cref="InvalidDataException">The source is not an image this thumbnailer can read.</exception>
    ValueTask<ThumbnailResult> CreateThumbnailAsync(Stream source, Stream destination, CancellationToken cancellationToken = default);
}

/// <summary>What <see cref="IImageThumbnailer.CreateThumbnailAsync"/> found and made.</summary>
/// <param name="Width">The source image's width in pixels, read from the image.</param>
/// <param name="Height">The source image's height in pixels.</param>
/// <param name="ContentType">The source image's real format, for example <c>image/png</c>.</param>
/// <param name="ThumbnailWidth">The thumbnail's width.</param>
/// <param name="ThumbnailHeight">The thumbnail's height.</param>
/// <param name="ThumbnailContentType">The thumbnail's format, for example <c>image/webp</c>.</param>
public sealed record ThumbnailResult(int Width, int Height, string ContentType, int ThumbnailWidth, int ThumbnailHeight, string ThumbnailContentType);
