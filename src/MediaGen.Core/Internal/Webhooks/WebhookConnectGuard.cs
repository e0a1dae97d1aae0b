using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace MediaGen.Internal;

/// <summary>Resolves a webhook host's addresses; a seam so tests can make a name resolve to an internal address.</summary>
internal interface IWebhookHostResolver
{
    /// <summary>The addresses <paramref name="host"/> resolves to.</summary>
    ValueTask<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken);
}

/// <summary>Resolves through the system's DNS resolver.</summary>
internal sealed class DnsWebhookHostResolver : IWebhookHostResolver
{
    public async ValueTask<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) =>
        await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
}

/// <summary>A connection to a webhook host that resolved to an address <see cref="WebhookAddressPolicy"/> refuses.</summary>
internal sealed class WebhookAddressRefusedException(string message) : IOException(message);

/// <summary>
/// The webhook client's <see cref="SocketsHttpHandler.ConnectCallback"/>: resolves the host once, refuses the connection
/// when any address is not public (unless the host is allow-listed), and connects to exactly the addresses it checked,
/// so a second lookup cannot swap in another one.
/// </summary>
internal sealed class WebhookConnectGuard(IWebhookHostResolver resolver, IOptions<WebhookOptions> options)
{
    /// <summary>The handler webhooks are sent through: no redirects, no proxy (a proxy would connect for us, unchecked).</summary>
    public SocketsHttpHandler CreateHandler() => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        ConnectCallback = ConnectAsync,
        PooledConnectionLifetime = TimeSpan.FromMinutes(1),
    };

    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.TrimStart('[').TrimEnd(']'), out var literal)
            ? [literal]
            : await resolver.ResolveAsync(host, cancellationToken).ConfigureAwait(false);
        if (addresses.Length == 0)
        {
            throw new WebhookAddressRefusedException($"The webhook host '{host}' resolved to no address.");
        }

        if (!WebhookAddressPolicy.IsAllowed(host, options.Value.AllowedNonPublicHosts))
        {
            foreach (var address in addresses)
            {
                if (!WebhookAddressPolicy.IsPublic(address))
                {
                    throw new WebhookAddressRefusedException($"The webhook host '{host}' resolved to the non-public address {address}; not connecting.");
                }
            }
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
