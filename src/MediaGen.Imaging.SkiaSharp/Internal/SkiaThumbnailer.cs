using Microsoft.Extensions.Options;
using SkiaSharp;

namespace MediaGen.Imaging.SkiaSharp.Internal;

/// <summary>
/// Makes thumbnails with SkiaSharp. The source's header is read first, so the true size and format are known before any
/// pixel is decoded; codecs that can (JPEG, WebP) decode straight to the smallest scale at or above the thumbnail's size,
/// and the result is resampled (cubic) to the thumbnail and encoded.
/// </summary>
internal sealed class SkiaThumbnailer(IOptions<SkiaThumbnailOptions> options) : IImageThumbnailer
{
    private readonly SkiaThumbnailOptions _options = options.Value;

    public async ValueTask<ThumbnailResult> CreateThumbnailAsync(Stream source, Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);

        // Skia's codecs read by seeking; a storage stream may not seek, so the encoded bytes (not the pixels) are buffered.
        using var encoded = new MemoryStream();
        await source.CopyToAsync(encoded, cancellationToken).ConfigureAwait(false);
        encoded.Position = 0;
        var (result, bytes) = Make(encoded);
        await destination.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        return result;
    }

    private (ThumbnailResult Result, byte[] Bytes) Make(MemoryStream encoded)
    {
        using var codec = SKCodec.Create(encoded, out var status)
            ?? throw new InvalidDataException($"The output is not an image SkiaSharp can read ({status}).");
        var size = codec.Info.Size;
        if (size.Width <= 0 || size.Height <= 0)
        {
            throw new InvalidDataException("The image has no pixels.");
        }

        if ((long)size.Width * size.Height > _options.MaxSourcePixels)
        {
            throw new InvalidDataException($"The image is {size.Width} x {size.Height}, more than the {_options.MaxSourcePixels:N0} pixels a thumbnail is made from.");
        }

        var scale = Math.Min(1f, (float)_options.MaxSide / Math.Max(size.Width, size.Height));
        var target = new SKSizeI(Math.Max(1, (int)Math.Round(size.Width * scale)), Math.Max(1, (int)Math.Round(size.Height * scale)));

        // The codec's nearest supported scale at or above the target (a JPEG decodes at 1/2, 1/4 or 1/8 for free).
        var decodeSize = codec.GetScaledDimensions(scale);
        if (decodeSize.Width < target.Width || decodeSize.Height < target.Height)
        {
            decodeSize = size;
        }

        var decodeInfo = new SKImageInfo(decodeSize.Width, decodeSize.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var decoded = new SKBitmap(decodeInfo);
        var decodeResult = codec.GetPixels(decodeInfo, decoded.GetPixels());
        if (decodeResult is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
        {
            throw new InvalidDataException($"The image could not be decoded ({decodeResult}).");
        }

        using var resized = decoded.Resize(new SKImageInfo(target.Width, target.Height, SKColorType.Rgba8888, SKAlphaType.Premul), new SKSamplingOptions(SKCubicResampler.Mitchell))
            ?? throw new InvalidDataException("The image could not be resized.");
        using var image = SKImage.FromBitmap(resized);
        var (format, contentType) = _options.Format == ThumbnailFormat.Jpeg
            ? (SKEncodedImageFormat.Jpeg, "image/jpeg")
            : (SKEncodedImageFormat.Webp, "image/webp");
        using var data = image.Encode(format, _options.Quality)
            ?? throw new InvalidDataException($"The thumbnail could not be encoded as {contentType}.");
        return (new ThumbnailResult(size.Width, size.Height, ContentTypeOf(codec.EncodedFormat), target.Width, target.Height, contentType), data.ToArray());
    }

    private static string ContentTypeOf(SKEncodedImageFormat format) => format switch
    {
        SKEncodedImageFormat.Png => "image/png",
        SKEncodedImageFormat.Jpeg => "image/jpeg",
        SKEncodedImageFormat.Webp => "image/webp",
        SKEncodedImageFormat.Gif => "image/gif",
        SKEncodedImageFormat.Bmp => "image/bmp",
        SKEncodedImageFormat.Avif => "image/avif",
        SKEncodedImageFormat.Heif => "image/heif",
        _ => "application/octet-stream",
    };
}
