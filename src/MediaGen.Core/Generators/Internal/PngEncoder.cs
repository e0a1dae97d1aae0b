using System.Buffers.Binary;
using System.IO.Compression;

namespace MediaGen.Internal;

/// <summary>
/// Writes 8-bit RGB PNG images: signature, IHDR, IDAT (zlib, the Sub filter on every row) and IEND. Output is a
/// pure function of the pixels, so the same pixels always give the same bytes.
/// </summary>
internal static class PngEncoder
{
    private const int BytesPerPixel = 3;
    private const int IdatChunkSize = 256 * 1024;
    private const byte FilterSub = 1;

    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>Encodes <paramref name="rgb"/> (rows top to bottom, three bytes per pixel) as a PNG.</summary>
    public static byte[] EncodeRgb(ReadOnlySpan<byte> rgb, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        var stride = width * BytesPerPixel;
        if (rgb.Length != stride * height)
        {
            throw new ArgumentException($"Expected {stride * height} bytes for {width}x{height} RGB, got {rgb.Length}.", nameof(rgb));
        }

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            var row = new byte[1 + stride];
            row[0] = FilterSub;
            for (var y = 0; y < height; y++)
            {
                var source = rgb.Slice(y * stride, stride);
                source[..BytesPerPixel].CopyTo(row.AsSpan(1));
                for (var i = BytesPerPixel; i < stride; i++)
                {
                    row[1 + i] = unchecked((byte)(source[i] - source[i - BytesPerPixel]));
                }

                zlib.Write(row);
            }
        }

        var data = compressed.GetBuffer().AsSpan(0, (int)compressed.Length);
        var chunkCount = Math.Max(1, (data.Length + IdatChunkSize - 1) / IdatChunkSize);
        using var png = new MemoryStream(Signature.Length + (3 * 12) + 13 + data.Length + (chunkCount * 12));
        png.Write(Signature);

        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8; // bit depth
        header[9] = 2; // colour type: truecolour (RGB)
        header[10] = 0; // compression: deflate
        header[11] = 0; // filter method: adaptive
        header[12] = 0; // interlace: none
        WriteChunk(png, "IHDR"u8, header);

        // A zlib stream is never empty (two header bytes at least), so there is always one IDAT chunk.
        for (var offset = 0; offset < data.Length; offset += IdatChunkSize)
        {
            WriteChunk(png, "IDAT"u8, data.Slice(offset, Math.Min(IdatChunkSize, data.Length - offset)));
        }

        WriteChunk(png, "IEND"u8, []);
        return png.ToArray();
    }

    /// <summary>The CRC-32 (ISO 3309, as PNG uses it) of <paramref name="bytes"/>, continuing from <paramref name="crc"/>.</summary>
    public static uint UpdateCrc(uint crc, ReadOnlySpan<byte> bytes)
    {
        var c = crc;
        foreach (var b in bytes)
        {
            c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        }

        return c;
    }

    private static void WriteChunk(Stream png, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        png.Write(word);
        png.Write(type);
        png.Write(data);
        var crc = UpdateCrc(UpdateCrc(0xFFFFFFFFu, type), data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        png.Write(word);
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
