using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc.Testing;

namespace MediaGen.Samples.Api.Tests;

/// <summary>
/// Starts the API host in memory with the given configuration on top of a fast procedural generator and a private
/// media directory. Settings go in as host configuration so Program sees them before it registers services.
/// </summary>
public class ApiFactory : WebApplicationFactory<Program>
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private readonly Dictionary<string, string?> _settings;

    public ApiFactory(IReadOnlyDictionary<string, string?>? settings = null)
    {
        MediaRoot = Path.Combine(Path.GetTempPath(), "mediagen-api-tests", Guid.NewGuid().ToString("N"));
        _settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["MediaGen:FileSystem:RootPath"] = MediaRoot,
            ["MediaGen:Generators:Procedural:SimulatedDuration"] = "00:00:00.020",
            ["MediaGen:Generators:Procedural:ProgressSteps"] = "2",
            ["MediaGen:Worker:ProgressInterval"] = "00:00:00",
            ["MediaGen:Worker:ReceiveWait"] = "00:00:00.200",
            ["MediaGen:Worker:DrainTimeout"] = "00:00:01",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    public string MediaRoot { get; }

    protected override IHost CreateHost(IHostBuilder builder)
    {
        builder.ConfigureHostConfiguration(c => c.AddInMemoryCollection(_settings));
        return base.CreateHost(builder);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(MediaRoot))
        {
            Directory.Delete(MediaRoot, recursive: true);
        }
    }

    public HttpClient CreateClient(string? apiKey)
    {
        var client = CreateClient();
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        }

        return client;
    }
}

/// <summary>No API keys (every caller is <c>demo</c>), worker in-process, jobs finish in a few milliseconds.</summary>
public sealed class DefaultApiFactory : ApiFactory
{
}

/// <summary>API keys for alice, bob, carol and dave (one owner per test that checks a balance), a small heartbeat, and jobs that run for a minute unless canceled.</summary>
public sealed class SlowJobsWithApiKeysFactory() : ApiFactory(new Dictionary<string, string?>
{
    ["MediaGen:Samples:ApiKeys:alice-key"] = "alice",
    ["MediaGen:Samples:ApiKeys:bob-key"] = "bob",
    ["MediaGen:Samples:ApiKeys:carol-key"] = "carol",
    ["MediaGen:Samples:ApiKeys:dave-key"] = "dave",
    ["MediaGen:Samples:SseHeartbeatInterval"] = "00:00:00.050",
    ["MediaGen:Generators:Procedural:SimulatedDuration"] = "00:01:00",
    ["MediaGen:Generators:Procedural:ProgressSteps"] = "600",
});

/// <summary>No worker: jobs stay Pending. One API key per test so owners do not share jobs or balances.</summary>
public sealed class NoWorkerFactory() : ApiFactory(new Dictionary<string, string?>
{
    ["MediaGen:Worker:Enabled"] = "false",
    ["MediaGen:Credits:InitialBalance"] = "10",
    ["MediaGen:Samples:ApiKeys:cancel-key"] = "cancel-owner",
    ["MediaGen:Samples:ApiKeys:list-key"] = "list-owner",
    ["MediaGen:Samples:ApiKeys:poor-key"] = "poor-owner",
    ["MediaGen:Samples:ApiKeys:retry-key"] = "retry-owner",
});

internal static class ApiTestExtensions
{
    public static async Task<long> GetBalanceAsync(this HttpClient client)
    {
        var credits = await (await client.GetAsync("/api/v1/credits")).ReadJsonAsync();
        return credits.GetProperty("balance").GetInt64();
    }
}
