using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace MediaGen.Browser.Tests;

/// <summary>
/// The sample API host (its page, API and dashboard) served by Kestrel on a free loopback port, in this process,
/// on the in-memory defaults with a fast procedural generator and a private media folder.
/// </summary>
public sealed class SampleHost : WebApplicationFactory<Program>
{
    private readonly TempDirectory _media = new("browser-tests");
    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;

    public SampleHost(IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        _services = services;
        _settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["MediaGen:FileSystem:RootPath"] = _media.Path,
            ["MediaGen:Generators:Procedural:SimulatedDuration"] = "00:00:00.300",
            ["MediaGen:Generators:Procedural:ProgressSteps"] = "3",
            ["MediaGen:Worker:ProgressInterval"] = "00:00:00",
            ["MediaGen:Worker:ReceiveWait"] = "00:00:00.200",
            ["MediaGen:Worker:DrainTimeout"] = "00:00:01",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }

        UseKestrel(0);
        StartServer();
    }

    /// <summary>The host's address, http://127.0.0.1:port/.</summary>
    public Uri Address => ClientOptions.BaseAddress;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseUrls("http://127.0.0.1:0");
        if (_services is not null)
        {
            builder.ConfigureTestServices(_services);
        }
    }

    protected override IHost CreateHost(IHostBuilder builder)
    {
        builder.ConfigureHostConfiguration(c => c.AddInMemoryCollection(_settings));
        return base.CreateHost(builder);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _media.Dispose();
        }
    }
}
