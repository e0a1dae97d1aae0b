namespace MediaGen.Queue.Redis.Tests;

/// <summary>
/// A redis-server of a test's own (found on PATH; eng/servers/redis.sh installs it) with <c>appendonly yes</c> and
/// <c>appendfsync always</c> in a temporary directory, which the test can kill with SIGKILL and start again on the
/// same port and data.
/// </summary>
internal sealed class RedisServerProcess : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mediagen-redis-aof");
    private Process? _server;

    public int Port { get; } = FreePort.Next();

    public string Address => $"127.0.0.1:{Port}";

    public async Task StartAsync()
    {
        var start = new ProcessStartInfo("redis-server")
        {
            ArgumentList = { "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", _dir.FullName, "--save", "", "--appendonly", "yes", "--appendfsync", "always" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _server = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start; is it on PATH?");
        _server.OutputDataReceived += (_, _) => { };
        _server.ErrorDataReceived += (_, _) => { };
        _server.BeginOutputReadLine();
        _server.BeginErrorReadLine();
        for (var i = 0; i < 200; i++)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync(System.Net.IPAddress.Loopback, Port);
                return;
            }
            catch (System.Net.Sockets.SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new InvalidOperationException($"redis-server did not listen on port {Port}.");
    }

    /// <summary>Kills the server with SIGKILL: no shutdown, no final save.</summary>
    public void Kill()
    {
        if (_server is { HasExited: false })
        {
            _server.Kill();
            _server.WaitForExit();
        }

        _server?.Dispose();
        _server = null;
    }

    public void Dispose()
    {
        Kill();
        _dir.Delete(recursive: true);
    }
}
