using System.Buffers.Binary;
using System.IO.Compression;

namespace MediaGen.Core.Tests.Generators;

/// <summary>A strict, minimal PNG reader for tests: checks the signature and every chunk's CRC, and decodes 8-bit RGB.</summary>
internal static class PngTestReader
{
    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static DecodedPng Decode(byte[] png)
    {
        Assert.True(png.AsSpan().StartsWith(Signature), "The PNG signature is missing.");
        var chunks = ReadChunks(png);
        Assert.Equal("IHDR", chunks[0].Type);
        Assert.Equal("IEND", chunks[^1].Type);
        Assert.Empty(chunks[^1].Data);

        var header = chunks[0].Data;
        Assert.Equal(13, header.Length);
        var width = BinaryPrimitives.ReadInt32BigEndian(header);
        var height = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4));
        Assert.Equal(8, header[8]);  // bit depth
        Assert.Equal(2, header[9]);  // truecolour RGB
        Assert.Equal(0, header[10]); // deflate
        Assert.Equal(0, header[11]); // adaptive filtering
        Assert.Equal(0, header[12]); // not interlaced

        var idat = chunks.Where(c => c.Type == "IDAT").SelectMany(c => c.Data).ToArray();
        Assert.NotEmpty(idat);
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(new MemoryStream(idat), CompressionMode.Decompress))
        {
            zlib.CopyTo(inflated);
        }

        var stride = width * 3;
        var raw = inflated.ToArray();
        Assert.Equal(height * (1 + stride), raw.Length);

        var pixels = new byte[height * stride];
        for (var y = 0; y < height; y++)
        {
            var filter = raw[y * (1 + stride)];
            var line = raw.AsSpan((y * (1 + stride)) + 1, stride);
            var current = pixels.AsSpan(y * stride, stride);
            var previous = y == 0 ? new byte[stride] : pixels.AsSpan((y - 1) * stride, stride);
            for (var i = 0; i < stride; i++)
            {
                int a = i >= 3 ? current[i - 3] : 0;
                int b = previous[i];
                int c = i >= 3 ? previous[i - 3] : 0;
                var predictor = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"Row {y} has the unknown filter type {filter}."),
                };
                current[i] = unchecked((byte)(line[i] + predictor));
            }
        }

        return new DecodedPng(width, height, pixels);
    }

    private static List<(string Type, byte[] Data)> ReadChunks(byte[] png)
    {
        var chunks = new List<(string, byte[])>();
        var offset = Signature.Length;
        while (offset < png.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            var type = Encoding.ASCII.GetString(png, offset + 4, 4);
            var data = png.AsSpan(offset + 8, length).ToArray();
            var crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(offset + 8 + length));
            Assert.True(Crc32(png.AsSpan(offset + 4, 4 + length)) == crc, $"Chunk {type} at {offset} has a wrong CRC.");
            chunks.Add((type, data));
            offset += 12 + length;
        }

        Assert.Equal(png.Length, offset);
        return chunks;
    }

    // Bit-by-bit on purpose: independent of the encoder's table-driven CRC.
    private static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return crc ^ 0xFFFFFFFFu;
    }

    private static int Paeth(int a, int b, int c)
    {
        var p = a + b - c;
        var pa = Math.Abs(p - a);
        var pb = Math.Abs(p - b);
        var pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}

internal sealed record DecodedPng(int Width, int Height, byte[] Pixels)
{
    public int DistinctColours()
    {
        var seen = new HashSet<int>();
        for (var i = 0; i < Pixels.Length; i += 3)
        {
            seen.Add((Pixels[i] << 16) | (Pixels[i + 1] << 8) | Pixels[i + 2]);
        }

        return seen.Count;
    }
}
