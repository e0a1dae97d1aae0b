using System.Security.Cryptography;
using System.Text;

namespace MediaGen.Internal;

/// <summary>
/// Paints an RGB picture from two seeds: the palette seed (from the prompt) picks the colours, the layout seed (from
/// the prompt, the seed and the output index) picks the gradient and the shapes. Positions and sizes are fractions of
/// the canvas, so the same request at another size shows the same picture, rescaled.
/// </summary>
internal static class ProceduralPainter
{
    private const int PaletteSize = 5;

    /// <summary>A stable 64-bit hash of <paramref name="parts"/> (SHA-256 of their UTF-8 bytes, separated by NUL), the same in every process.</summary>
    public static ulong StableHash(params ReadOnlySpan<string?> parts)
    {
        var builder = new StringBuilder();
        foreach (var part in parts)
        {
            builder.Append(part).Append('\0');
        }

        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(builder.ToString()), digest);
        return BitConverter.ToUInt64(digest);
    }

    /// <summary>Paints a <paramref name="width"/> x <paramref name="height"/> picture; three bytes per pixel, rows top to bottom.</summary>
    public static byte[] Paint(int width, int height, ulong paletteSeed, ulong layoutSeed, int shapeCount, CancellationToken cancellationToken)
    {
        var pixels = new byte[width * height * 3];
        var paletteRandom = new SplitMix64(paletteSeed);
        var palette = BuildPalette(ref paletteRandom);
        var random = new SplitMix64(layoutSeed);

        PaintBackground(pixels, width, height, palette, ref random, cancellationToken);
        var scale = Math.Min(width, height);
        for (var i = 0; i < shapeCount; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var colour = palette[1 + random.NextInt(PaletteSize - 1)];
            var alpha = 0.35 + (0.5 * random.NextDouble());
            var cx = random.NextDouble() * width;
            var cy = random.NextDouble() * height;
            var radius = (0.05 + (0.3 * random.NextDouble())) * scale;
            switch (random.NextInt(3))
            {
                case 0:
                    PaintRing(pixels, width, height, cx, cy, radius, 0, colour, alpha);
                    break;
                case 1:
                    PaintRing(pixels, width, height, cx, cy, radius, radius * (0.08 + (0.2 * random.NextDouble())), colour, alpha);
                    break;
                default:
                    PaintRectangle(pixels, width, height, cx, cy, radius * (0.5 + random.NextDouble()), radius * (0.2 + (0.6 * random.NextDouble())), colour, alpha);
                    break;
            }
        }

        return pixels;
    }

    private static Rgb[] BuildPalette(ref SplitMix64 random)
    {
        var palette = new Rgb[PaletteSize];
        var hue = random.NextDouble();
        for (var i = 0; i < PaletteSize; i++)
        {
            // Step round the colour wheel by the golden ratio so neighbours contrast; the first colour is the darkest.
            var h = (hue + (i * 0.381966)) % 1.0;
            var s = 0.45 + (0.45 * random.NextDouble());
            var v = i == 0 ? 0.25 + (0.2 * random.NextDouble()) : 0.6 + (0.4 * random.NextDouble());
            palette[i] = Rgb.FromHsv(h, s, v);
        }

        return palette;
    }

    private static void PaintBackground(byte[] pixels, int width, int height, Rgb[] palette, ref SplitMix64 random, CancellationToken cancellationToken)
    {
        var from = palette[0];
        var to = palette[1 + random.NextInt(PaletteSize - 1)];
        var angle = random.NextDouble() * Math.PI * 2;
        var dx = Math.Cos(angle);
        var dy = Math.Sin(angle);
        // Project each pixel on the gradient's direction; normalise so the gradient spans the whole canvas.
        var extent = (Math.Abs(dx) * width) + (Math.Abs(dy) * height);
        var origin = (Math.Min(0, dx * width) + Math.Min(0, dy * height)) / extent;
        for (var y = 0; y < height; y++)
        {
            if ((y & 63) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var row = y * width * 3;
            for (var x = 0; x < width; x++)
            {
                var t = (((dx * x) + (dy * y)) / extent) - origin;
                var o = row + (x * 3);
                pixels[o] = Lerp(from.R, to.R, t);
                pixels[o + 1] = Lerp(from.G, to.G, t);
                pixels[o + 2] = Lerp(from.B, to.B, t);
            }
        }
    }

    // A disc when thickness is 0, otherwise a ring of that thickness; edges are anti-aliased over one pixel.
    private static void PaintRing(byte[] pixels, int width, int height, double cx, double cy, double radius, double thickness, Rgb colour, double alpha)
    {
        var x0 = Math.Max(0, (int)Math.Floor(cx - radius - 1));
        var x1 = Math.Min(width - 1, (int)Math.Ceiling(cx + radius + 1));
        var y0 = Math.Max(0, (int)Math.Floor(cy - radius - 1));
        var y1 = Math.Min(height - 1, (int)Math.Ceiling(cy + radius + 1));
        for (var y = y0; y <= y1; y++)
        {
            for (var x = x0; x <= x1; x++)
            {
                var d = Math.Sqrt(((x + 0.5 - cx) * (x + 0.5 - cx)) + ((y + 0.5 - cy) * (y + 0.5 - cy)));
                var coverage = Math.Clamp(radius - d + 0.5, 0, 1);
                if (thickness > 0)
                {
                    coverage = Math.Min(coverage, Math.Clamp(d - (radius - thickness) + 0.5, 0, 1));
                }

                if (coverage > 0)
                {
                    Blend(pixels, ((y * width) + x) * 3, colour, alpha * coverage);
                }
            }
        }
    }

    private static void PaintRectangle(byte[] pixels, int width, int height, double cx, double cy, double halfWidth, double halfHeight, Rgb colour, double alpha)
    {
        var x0 = Math.Max(0, (int)Math.Round(cx - halfWidth));
        var x1 = Math.Min(width, (int)Math.Round(cx + halfWidth));
        var y0 = Math.Max(0, (int)Math.Round(cy - halfHeight));
        var y1 = Math.Min(height, (int)Math.Round(cy + halfHeight));
        for (var y = y0; y < y1; y++)
        {
            for (var x = x0; x < x1; x++)
            {
                Blend(pixels, ((y * width) + x) * 3, colour, alpha);
            }
        }
    }

    private static void Blend(byte[] pixels, int offset, Rgb colour, double alpha)
    {
        pixels[offset] = Lerp(pixels[offset], colour.R, alpha);
        pixels[offset + 1] = Lerp(pixels[offset + 1], colour.G, alpha);
        pixels[offset + 2] = Lerp(pixels[offset + 2], colour.B, alpha);
    }

    private static byte Lerp(byte a, byte b, double t) => (byte)Math.Clamp(Math.Round(a + ((b - a) * t)), 0, 255);

    private readonly record struct Rgb(byte R, byte G, byte B)
    {
        public static Rgb FromHsv(double h, double s, double v)
        {
            var sector = h * 6;
            var i = (int)Math.Floor(sector) % 6;
            var f = sector - Math.Floor(sector);
            var p = v * (1 - s);
            var q = v * (1 - (s * f));
            var t = v * (1 - (s * (1 - f)));
            var (r, g, b) = i switch
            {
                0 => (v, t, p),
                1 => (q, v, p),
                2 => (p, v, t),
                3 => (p, q, v),
                4 => (t, p, v),
                _ => (v, p, q),
            };
            return new Rgb(ToByte(r), ToByte(g), ToByte(b));
        }

        private static byte ToByte(double value) => (byte)Math.Clamp(Math.Round(value * 255), 0, 255);
    }

    /// <summary>A small, fast, seedable generator whose sequence is the same on every platform and runtime.</summary>
    private struct SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        public ulong Next()
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

        public int NextInt(int maxExclusive) => (int)(Next() % (ulong)maxExclusive);
    }
}
