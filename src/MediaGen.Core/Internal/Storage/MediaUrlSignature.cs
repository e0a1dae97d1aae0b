using System.Globalization;
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

    /// <summary>The query string (without <c>?</c>) that makes <paramref name="storageKey"/> readable until <paramref name="expires"/>.</summary>
    public string Sign(string storageKey, DateTimeOffset expires)
    {
        var seconds = expires.ToUnixTimeSeconds();
        return string.Create(CultureInfo.InvariantCulture, $"{ExpiresParameter}={seconds}&{SignatureParameter}={Convert.ToBase64String(Compute(storageKey, seconds)).TrimEnd('=').Replace('+', '-').Replace('/', '_')}");
    }

    /// <summary>Whether <paramref name="signature"/> signs <paramref name="storageKey"/> until <paramref name="expires"/>, and that is after <paramref name="now"/>.</summary>
    public bool IsValid(string storageKey, string? expires, string? signature, DateTimeOffset now)
    {
        if (!long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || seconds <= now.ToUnixTimeSeconds()
            || signature is not { Length: 43 })
        {
            return false;
        }

        Span<byte> given = stackalloc byte[33];
        var base64 = signature.Replace('-', '+').Replace('_', '/') + "=";
        return Convert.TryFromBase64String(base64, given, out var written)
            && written == 32
            && CryptographicOperations.FixedTimeEquals(given[..32], Compute(storageKey, seconds));
    }

    private byte[] Compute(string storageKey, long seconds) =>
        HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{storageKey}\n{seconds}")));
}
