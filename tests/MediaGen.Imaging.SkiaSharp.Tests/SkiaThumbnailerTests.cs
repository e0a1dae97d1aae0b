using MediaGen.Imaging.SkiaSharp.Internal;
using Microsoft.Extensions.Options;

namespace MediaGen.Imaging.SkiaSharp.Tests;

public sealed class SkiaThumbnailerTests
{
    [Fact]
    public async Task CreateThumbnailAsync_Png_ReadsTheTrueSizeAndWritesAWebpNoLongerThanMaxSide()
    {
        using var source = Encode(640, 480, SKEncodedImageFormat.Png);
        using var thumbnail = new MemoryStream();

        var made = await Thumbnailer().CreateThumbnailAsync(source, thumbnail);

        Assert.Equal(new ThumbnailResult(640, 480, "image/png", 256, 192, "image/webp"), made);
        var (format, width, height) = Read(thumbnail);
        Assert.Equal((SKEncodedImageFormat.Webp, 256, 192), (format, width, height));
    }

    [Fact]
    public async Task CreateThumbnailAsync_LargeJpegFromAStreamThatCannotSeek_DecodesAtAReducedScale()
    {
        using var encoded = Encode(2048, 1024, SKEncodedImageFormat.Jpeg);
        using var source = new ForwardOnlyStream(encoded);
        using var thumbnail = new MemoryStream();

        var made = await Thumbnailer(o => o.Format = ThumbnailFormat.Jpeg).CreateThumbnailAsync(source, thumbnail);

        Assert.Equal(new ThumbnailResult(2048, 1024, "image/jpeg", 256, 128, "image/jpeg"), made);
        Assert.Equal((SKEncodedImageFormat.Jpeg, 256, 128), Read(thumbnail));
        using var codec = SKCodec.Create(new MemoryStream(encoded.ToArray()));
        Assert.Equal(new SKSizeI(256, 128), codec.GetScaledDimensions(0.125f));
    }

    [Fact]
    public async Task CreateThumbnailAsync_ImageSmallerThanMaxSide_KeepsItsSize()
    {
        using var source = Encode(100, 40, SKEncodedImageFormat.Webp);
        using var thumbnail = new MemoryStream();

        var made = await Thumbnailer().CreateThumbnailAsync(source, thumbnail);

        Assert.Equal((100, 40, "image/webp", 100, 40), (made.Width, made.Height, made.ContentType, made.ThumbnailWidth, made.ThumbnailHeight));
    }

    [Fact]
    public async Task CreateThumbnailAsync_NotAnImageOrTooManyPixels_ThrowsInvalidData()
    {
        using var garbage = new MemoryStream("this is not an image"u8.ToArray());
        using var big = Encode(300, 300, SKEncodedImageFormat.Png);

        await Assert.ThrowsAsync<InvalidDataException>(async () => await Thumbnailer().CreateThumbnailAsync(garbage, Stream.Null));
        var tooBig = await Assert.ThrowsAsync<InvalidDataException>(async () => await Thumbnailer(o => o.MaxSourcePixels = 300 * 299).CreateThumbnailAsync(big, Stream.Null));
        Assert.Contains("300 x 300", tooBig.Message, StringComparison.Ordinal);
    }

    private static SkiaThumbnailer Thumbnailer(Action<SkiaThumbnailOptions>? configure = null)
    {
        var options = new SkiaThumbnailOptions();
        configure?.Invoke(options);
        return new SkiaThumbnailer(Options.Create(options));
    }

    /// <summary>An image of the given size: a diagonal gradient, so every format has something to compress.</summary>
    internal static MemoryStream Encode(int width, int height, SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(width, height);
        using (var canvas = new SKCanvas(bitmap))
        using (var paint = new SKPaint { Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(width, height), [SKColors.Navy, SKColors.Orange], SKShaderTileMode.Clamp) })
        {
            canvas.DrawRect(0, 0, width, height, paint);
        }

        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 90);
        return new MemoryStream(data.ToArray());
    }

    internal static (SKEncodedImageFormat Format, int Width, int Height) Read(Stream encoded)
    {
        encoded.Position = 0;
        using var codec = SKCodec.Create(encoded) ?? throw new InvalidDataException("Not an image.");
        return (codec.EncodedFormat, codec.Info.Width, codec.Info.Height);
    }

    private sealed class ForwardOnlyStream(Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
