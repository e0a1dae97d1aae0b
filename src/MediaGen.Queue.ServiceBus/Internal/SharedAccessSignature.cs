using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace MediaGen.ServiceBus.Internal;

/// <summary>
/// Service Bus shared access signatures: an HMAC-SHA256, keyed with the policy key, over the URL-encoded resource URI, a
/// line feed and the expiry in Unix seconds; sent as
/// <c>SharedAccessSignature sr={resource}&amp;sig={signature}&amp;se={expiry}&amp;skn={policy}</c>.
/// </summary>
internal static class SharedAccessSignature
{
    public static string Create(string resourceUri, string keyName, string key, DateTimeOffset expiresAt)
    {
        ArgumentException.ThrowIfNullOrEmpty(resourceUri);
        ArgumentException.ThrowIfNullOrEmpty(keyName);
        ArgumentException.ThrowIfNullOrEmpty(key);
        var resource = WebUtility.UrlEncode(resourceUri);
        var expiry = expiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var signature = Sign(key, resource + "\n" + expiry);
        return $"SharedAccessSignature sr={resource}&sig={WebUtility.UrlEncode(signature)}&se={expiry}&skn={WebUtility.UrlEncode(keyName)}";
    }

    /// <summary>The Base64 HMAC-SHA256 of <paramref name="stringToSign"/> under <paramref name="key"/> (its UTF-8 bytes, as Service Bus keys are used).</summary>
    public static string Sign(string key, string stringToSign) =>
        Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(stringToSign)));
}
