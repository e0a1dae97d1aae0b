using System.Diagnostics;

namespace MediaGen.Storage.Blob.Tests;

/// <summary>The Azurite eng/servers/azurite.sh starts: its connection string, an admin client, and MediaGen storages on it.</summary>
internal static class BlobTestServer
{
    public const string EndpointVariable = "MEDIAGEN_AZURITE_BLOB_ENDPOINT";

    public static string Endpoint => ServerEnvironment.Require(EndpointVariable);

    public static string ConnectionString => ServerEnvironment.Require("MEDIAGEN_AZURITE_CONNECTION_STRING");

    public static string NewContainerName() => "mediagen-" + Guid.NewGuid().ToString("N")[..20];

    public static void Configure(BlobStorageOptions o, string container, string prefix = "")
    {
        o.ConnectionString = ConnectionString;
        o.ContainerName = container;
        o.Prefix = prefix;
        o.CreateContainerIfMissing = true;
    }

    public static ServiceProvider BuildProvider(Action<IMediaGenerationBuilder> use)
    {
        var services = new ServiceCollection();
        use(services.AddMediaGeneration());
        return services.BuildServiceProvider();
    }

    public static BlobServiceClient CreateAdminClient() => new(ConnectionString);

    /// <summary>Runs the @azure/storage-blob client script; returns its standard output.</summary>
    public static async Task<string> RunNodeClientAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(ServerEnvironment.Require("MEDIAGEN_AZURITE_CLIENT"));
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"node blob-client.mjs {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error}");
        return await output;
    }

    public static IConfigurationSection Section(IEnumerable<KeyValuePair<string, string?>> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection("MediaGen:Blob");
}
