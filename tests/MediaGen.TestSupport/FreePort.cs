using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace MediaGen.TestSupport;

/// <summary>
/// Ports on 127.0.0.1 that nothing listens on: for a server a test starts on a port of its choosing (and may restart on
/// the same port), or for an endpoint that must be unreachable. A host that can bind port 0 and say which port it got
/// should do that instead, as the sample hosts do. Also compiled into the Service Bus test endpoint, which is why it names
/// its usings.
/// </summary>
public static class FreePort
{
    private const int First = 15000;
    private static readonly int EphemeralLow = ReadEphemeralLow();
    private static readonly ConcurrentDictionary<int, bool> Given = new();

    /// <summary>
    /// A TCP port on 127.0.0.1 that nothing listens on now, never the same twice in a process. It is picked below the
    /// kernel's ephemeral range, so no socket the kernel numbers itself (an outgoing connection, a bind to port 0) can
    /// take it between this call and the server's bind, or while the server is down between a kill and a restart.
    /// </summary>
    /// <returns>The port.</returns>
    /// <exception cref="InvalidOperationException">No free port was found below the ephemeral range.</exception>
    public static int Next()
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var port = Random.Shared.Next(First, EphemeralLow);
            if (Given.TryAdd(port, true) && Bindable(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"No free port on 127.0.0.1 between {First} and {EphemeralLow}.");
    }

    private static bool Bindable(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    // Linux says where its ephemeral range starts; elsewhere the IANA range (49152 and up) is the usual one. A range that
    // starts too low to leave room below it is ignored: the picks then come from below 49152, which that kernel may also
    // hand out itself.
    private static int ReadEphemeralLow()
    {
        try
        {
            var low = int.Parse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
            return low > First + 1000 ? low : 49152;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return 49152;
        }
    }
}
