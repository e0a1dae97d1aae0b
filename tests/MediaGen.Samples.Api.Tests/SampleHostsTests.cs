using System.Net.Sockets;

namespace MediaGen.Samples.Api.Tests;

/// <summary>
/// The sample API as a process, the way the multi-process tests start it: on a port it picks itself, and, when it cannot
/// start, failing with what it said.
/// </summary>
public sealed class SampleHostsTests : IDisposable
{
    private readonly DirectoryInfo _media = Directory.CreateTempSubdirectory("mediagen-sample-hosts");
    private readonly SampleHosts _hosts;

    public SampleHostsTests()
    {
        _hosts = new SampleHosts(new Dictionary<string, string>
        {
            ["MediaGen__FileSystem__RootPath"] = _media.FullName,
            ["Logging__LogLevel__Default"] = "Warning",
        });
    }

    public void Dispose()
    {
        _hosts.Dispose();
        _media.Delete(recursive: true);
    }

    [Fact]
    public async Task WaitUntilListeningAsync_ApiOnAPortItPicked_ReturnsTheAddressItServes()
    {
        var api = _hosts.Start("MediaGen.Samples.Api");

        var address = await _hosts.WaitUntilListeningAsync(api, TimeSpan.FromSeconds(60));

        Assert.Equal("127.0.0.1", address.Host);
        Assert.NotEqual(0, address.Port);
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        Assert.True(await SampleHosts.RespondsAsync(http, "/api/v1/credits"));
    }

    [Fact]
    public async Task WaitUntilStartedAsync_ApiWhosePortIsTaken_FailsWithWhatTheHostSaid()
    {
        using var taken = new TcpListener(IPAddress.Loopback, FreePort.Next());
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var api = _hosts.Start("MediaGen.Samples.Api", new Dictionary<string, string> { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}" });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => _hosts.WaitUntilStartedAsync(api, TimeSpan.FromSeconds(60)));

        Assert.Contains("exited with code", error.Message, StringComparison.Ordinal);
        Assert.Contains($"Failed to bind to address http://127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
    }
}
