using System.Security.Cryptography;

namespace MediaGen.Internal;

/// <summary>
/// New job ids: 128 random bits as 32 lowercase hex characters, unguessable like a GUID. Bytes come from the OS
/// generator 4 KB at a time per thread, because one system call per id costs more than the rest of a submission.
/// </summary>
internal static class JobIds
{
    private const int BufferSize = 4096;

    [ThreadStatic]
    private static byte[]? t_buffer;

    [ThreadStatic]
    private static int t_position;

    public static string New()
    {
        var buffer = t_buffer;
        if (buffer is null || t_position > BufferSize - 16)
        {
            buffer = t_buffer ??= new byte[BufferSize];
            RandomNumberGenerator.Fill(buffer);
            t_position = 0;
        }

        var offset = t_position;
        t_position += 16;
        var id = string.Create(32, (buffer, offset), static (chars, state) =>
        {
            const string Hex = "0123456789abcdef";
            var b = state.buffer.AsSpan(state.offset, 16);
            for (var i = 0; i < b.Length; i++)
            {
                chars[2 * i] = Hex[b[i] >> 4];
                chars[(2 * i) + 1] = Hex[b[i] & 0xF];
            }
        });

        // Used bytes are wiped so a memory dump does not reveal ids handed out earlier.
        buffer.AsSpan(offset, 16).Clear();
        return id;
    }
}
