using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace MediaGen.Internal;

/// <summary>
/// The signature of a file-system output's read URL: <c>?expires={unix seconds}&amp;signature={base64url HMAC-SHA256 of
/// "{key}\n{expires}"}</c>. The storage signs; the HTTP endpoint that serves the files checks, in constant time, and
/// serves nothing unsigned, tampered with or expired.
/// </summary>
internal sealed class MediaUrlSignature(byte[] key)
{
    public const string ExpiresParameter = "expires";
    public const string SignatureParameter = "signature";

    /// <summary>The HMAC's length in base64url without padding.</summary>
    private const int SignatureLength = 43;

    /// <summary>
    /// <paramref name="baseUrl"/> and <paramref name="storageKey"/> with the query that makes the key readable until
    /// <paramref name="expires"/>: built in one string, with the HMAC and its encoding on the stack.
    /// </summary>
    public string SignedUrl(string baseUrl, string storageKey, DateTimeOffset expires)
    {
        var seconds = expires.ToUnixTimeSeconds();
        Span<char> signature = stackalloc char[SignatureLength + 1];
        Sign(storageKey, seconds, signature);
        return string.Create(CultureInfo.InvariantCulture, $"{baseUrl}{storageKey}?{ExpiresParameter}={seconds}&{SignatureParameter}={signature[..SignatureLength]}");
    }

    /// <summary>
    /// Whether <paramref name="signature"/> signs <paramref name="storageKey"/> until <paramref name="expires"/>, and that
    /// is after <paramref name="now"/>. The signature is compared, in constant time, with the one this key would give, as
    /// text: of the spellings that decode to the same bytes (the last character carries two unused bits) only the one
    /// handed out is valid.
    /// </summary>
    public bool IsValid(string storageKey, string? expires, string? signature, DateTimeOffset now)
    {
        if (!long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || seconds <= now.ToUnixTimeSeconds()
            || signature is not { Length: SignatureLength })
        {
            return false;
        }

        Span<char> expected = stackalloc char[SignatureLength + 1];
        Sign(storageKey, seconds, expected);
        return CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(signature.AsSpan()), MemoryMarshal.AsBytes(expected[..SignatureLength]));
    }

    /// <summary>Writes the signature in base64url into the first <see cref="SignatureLength"/> of <paramref name="destination"/> (which has one more).</summary>
    private void Sign(string storageKey, long seconds, Span<char> destination)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        Compute(storageKey, seconds, mac);
        Convert.TryToBase64Chars(mac, destination, out _); // 44 characters: the last is the one '=' of 32 bytes' padding
        destination.Replace('+', '-');
        destination.Replace('/', '_');
    }

    /// <summary>The HMAC of <c>"{key}\n{seconds}"</c> in UTF-8, into <paramref name="destination"/>.</summary>
    private void Compute(string storageKey, long seconds, Span<byte> destination)
    {
        // A key is at most MediaStorageKeys.MaxLength characters: its UTF-8 and the expiry fit on the stack for the usual
        // short key, and in a pooled array for a long one.
        var bound = Encoding.UTF8.GetMaxByteCount(storageKey.Length) + 1 + 20;
        byte[]? rented = null;
        var message = bound <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(bound));
        try
        {
            var length = Encoding.UTF8.GetBytes(storageKey, message);
            message[length++] = (byte)'\n';
            seconds.TryFormat(message[length..], out var digits, provider: CultureInfo.InvariantCulture);
            HMACSHA256.HashData(key, message[..(length + digits)], destination);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
