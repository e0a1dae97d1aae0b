using System.Net.Sockets;

namespace MediaGen.TestSupport;

/// <summary>Ports on 127.0.0.1 that nothing listens on, for endpoints that must be unreachable.</summary>
public static class FreePort
{
    /// <summary>A TCP port on 127.0.0.1 that nothing listens on now.</summary>
    /// <returns>The port.</returns>
    public static int Next()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }
}
