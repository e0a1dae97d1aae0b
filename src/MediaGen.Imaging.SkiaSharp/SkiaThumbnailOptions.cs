using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MediaGen;

/// <summary>The format thumbnails are written in.</summary>
public enum ThumbnailFormat
{
    /// <summary>WebP: small, and what browsers show.</summary>
    Webp = 0,

    /// <summary>JPEG, for consumers that do not read WebP.</summary>
    Jpeg = 1,
}

/// <summary>Options for SkiaSharp thumbnails (<c>AddSkiaSharpThumbnails</c>).</summary>
public sealed class SkiaThumbnailOptions
{
    /// <summary>The thumbnail's longest side in pixels; a smaller image keeps its size.</summary>
    /// <value>The default value is 256.</value>
    [Range(16, 2048)]
    public int MaxSide { get; set; } = 256;

    /// <summary>The thumbnail's format.</summary>
    /// <value>The default value is <see cref="ThumbnailFormat.Webp"/>.</value>
    [EnumDataType(typeof(ThumbnailFormat))]
    public ThumbnailFormat Format { get; set; } = ThumbnailFormat.Webp;

    /// <summary>The encoder's quality, from 1 to 100.</summary>
    /// <value>The default value is 80.</value>
    [Range(1, 100)]
    public int Quality { get; set; } = 80;

    /// <summary>
    /// The largest source image, in pixels (width x height), that is decoded; a larger one gets no thumbnail (it is
    /// logged and counted). Codecs that can decode at a reduced scale (JPEG, WebP) decode straight to about the
    /// thumbnail's size, so this bounds what a PNG, which cannot, costs in memory: 4 bytes a pixel.
    /// </summary>
    /// <value>The default value is 50,000,000 (about 200 MB decoded; a 7071 x 7071 image).</value>
    [Range(1, 500_000_000)]
    public long MaxSourcePixels { get; set; } = 50_000_000;
}

/// <summary>Validates <see cref="SkiaThumbnailOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class SkiaThumbnailOptionsValidator : IValidateOptions<SkiaThumbnailOptions>
{
}
