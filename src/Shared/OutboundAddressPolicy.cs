using System.Net;
using System.Net.Sockets;

namespace MediaGen.Shared;

/// <summary>
/// Which URLs and addresses MediaGen may call on someone else's say-so (a webhook URL an owner submits, an output URL a
/// model returns): the one place the server-side request forgery rules live. A URL is checked before it is used
/// (<see cref="CheckUrl"/>) and every address its host resolves to is checked again when the connection is made
/// (<see cref="OutboundConnectGuard"/>), so a public name that resolves to an internal address is refused too.
/// </summary>
internal static class OutboundAddressPolicy
{
    /// <summary>
    /// Why <paramref name="url"/> may not be called, or null when it may. Refused: relative URLs, schemes other than
    /// http and https, credentials, hosts that are a non-public address in any spelling, loopback names, and names that
    /// cannot be public (one label, or a numeric last label) unless allow-listed.
    /// </summary>
    /// <param name="url">The URL.</param>
    /// <param name="allowedHosts">Hosts that may be non-public.</param>
    /// <param name="what">What the URL is, to start the reason with: "The webhook URL", "The output URL".</param>
    public static string? CheckUrl(Uri url, IEnumerable<string> allowedHosts, string what = "The webhook URL")
    {
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            return what + " must be an absolute http or https URL.";
        }

        if (url.UserInfo.Length > 0)
        {
            return what + " must not carry credentials.";
        }

        var host = NormalizeHost(url.IdnHost);
        if (IsAllowed(host, allowedHosts))
        {
            return null;
        }

        if (url.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 || IPAddress.TryParse(host, out _))
        {
            return IPAddress.TryParse(host, out var address) && IsPublic(address)
                ? null
                : what + " must not name a loopback, private, link-local or other non-public address.";
        }

        if (host is "localhost" || host.EndsWith(".localhost", StringComparison.Ordinal))
        {
            return what + " must not name a loopback host.";
        }

        var lastDot = host.LastIndexOf('.');
        var lastLabel = host[(lastDot + 1)..];
        if (lastDot < 0 || lastLabel.Length == 0 || lastLabel.All(char.IsAsciiDigit) || lastLabel.StartsWith("0x", StringComparison.Ordinal))
        {
            return what + " must name a public host: a fully qualified name or a public address.";
        }

        return null;
    }

    /// <summary>Whether <paramref name="host"/> (as a URL or connection names it) is on the allow-list.</summary>
    public static bool IsAllowed(string host, IEnumerable<string> allowedHosts)
    {
        var normalized = NormalizeHost(host);
        foreach (var allowed in allowedHosts)
        {
            if (string.Equals(NormalizeHost(allowed), normalized, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether <paramref name="address"/> is a public unicast address. Refused: unspecified, loopback, private
    /// (10/8, 172.16/12, 192.168/16), shared (100.64/10), link-local (169.254/16 with the cloud metadata address,
    /// fe80::/10), IETF-reserved and documentation ranges, benchmarking (198.18/15), multicast, reserved and broadcast
    /// (224/3), unique-local (fc00::/7), site-local (fec0::/10), and IPv6 outside global unicast (2000::/3); IPv4
    /// embedded in IPv6 (mapped, 6to4) is judged as IPv4.
    /// </summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> b = stackalloc byte[4];
            address.TryWriteBytes(b, out _);
            return !(b[0] is 0 or 10 or 127 or >= 224
                || (b[0] == 100 && (b[1] & 0xC0) == 64)
                || (b[0] == 169 && b[1] == 254)
                || (b[0] == 172 && (b[1] & 0xF0) == 16)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 192 && b[1] == 0 && b[2] is 0 or 2)
                || (b[0] == 198 && (b[1] & 0xFE) == 18)
                || (b[0] == 198 && b[1] == 51 && b[2] == 100)
                || (b[0] == 203 && b[1] == 0 && b[2] == 113));
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        Span<byte> v6 = stackalloc byte[16];
        address.TryWriteBytes(v6, out _);
        if ((v6[0] & 0xE0) != 0x20)
        {
            // Outside 2000::/3: loopback, unspecified, IPv4-compatible, NAT64, link-local, site-local, unique-local, multicast.
            return false;
        }

        if (v6[0] == 0x20 && v6[1] == 0x01 && ((v6[2] == 0x0d && v6[3] == 0xb8) || (v6[2] == 0 && v6[3] == 0)))
        {
            // 2001:db8::/32 documentation, 2001::/32 Teredo tunnels to an arbitrary IPv4 address.
            return false;
        }

        if (v6[0] == 0x20 && v6[1] == 0x02)
        {
            return IsPublic(new IPAddress(v6.Slice(2, 4)));
        }

        return true;
    }

    private static string NormalizeHost(string host) =>
        host.Trim().TrimStart('[').TrimEnd(']').TrimEnd('.').ToLowerInvariant();
}
