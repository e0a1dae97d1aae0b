using System.Net;
using System.Net.Http;
using System.Net.Sockets;

namespace MediaGen.Shared;

/// <summary>Resolves a host's addresses; a seam so tests can make a name resolve to an internal address.</summary>
internal interface IOutboundHostResolver
{
    /// <summary>The addresses <paramref name="host"/> resolves to.</summary>
    ValueTask<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken);
}

/// <summary>Resolves through the system's DNS resolver.</summary>
internal sealed class DnsOutboundHostResolver : IOutboundHostResolver
{
    public static DnsOutboundHostResolver Instance { get; } = new();

    public async ValueTask<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) =>
        await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
}

/// <summary>A connection to a host that resolved to an address <see cref="OutboundAddressPolicy"/> refuses.</summary>
internal sealed class OutboundAddressRefusedException(string message) : IOException(message)
{
    /// <summary>Whether <paramref name="exception"/> (a send's failure) is a connection this guard refused.</summary>
    public static bool IsRefusal(Exception exception) => exception is HttpRequestException { InnerException: OutboundAddressRefusedException };
}

/// <summary>
/// The <see cref="SocketsHttpHandler.ConnectCallback"/> of every client that calls a URL someone else chose (webhooks,
/// model outputs): resolves the host once, refuses the connection when any address is not public (unless the host is
/// allow-listed), and connects to exactly the addresses it checked, so a second lookup cannot swap in another one.
/// </summary>
/// <param name="resolver">Resolves host names.</param>
/// <param name="allowedHosts">Returns the hosts that may be non-public; read on every connection, so options can change.</param>
/// <param name="what">What is connected to, for messages: "webhook", "output".</param>
internal sealed class OutboundConnectGuard(IOutboundHostResolver resolver, Func<IEnumerable<string>> allowedHosts, string what)
{
    /// <summary>
    /// A handler that connects only through this guard: no redirects (a redirect would go to a URL nobody checked), no
    /// proxy (a proxy would connect for us, unchecked), no cookies.
    /// </summary>
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
            throw new OutboundAddressRefusedException($"The {what} host '{host}' resolved to no address.");
        }

        if (!OutboundAddressPolicy.IsAllowed(host, allowedHosts()))
        {
            foreach (var address in addresses)
            {
                if (!OutboundAddressPolicy.IsPublic(address))
                {
                    throw new OutboundAddressRefusedException($"The {what} host '{host}' resolved to the non-public address {address}; not connecting.");
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
