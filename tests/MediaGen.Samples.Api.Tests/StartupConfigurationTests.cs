namespace MediaGen.Samples.Api.Tests;

public sealed class StartupConfigurationTests
{
    [Theory]
    [InlineData("MediaGen:Queue:Provider", "Rediss", "MediaGen:Queue:Provider has the unknown value 'Rediss'; use InMemory, Redis, ServiceBus or PostgreSql.")]
    [InlineData("MediaGen:Storage:Provider", "Disk", "MediaGen:Storage:Provider has the unknown value 'Disk'; use FileSystem, S3 or Blob.")]
    [InlineData("MediaGen:Worker:Concurrency", "0", "MediaGen:Worker:Concurrency")]
    [InlineData("MediaGen:Worker:Concurency", "4", "MediaGen:Worker:Concurency is not a known setting")]
    [InlineData("MediaGen:Worker:Enabled", "sometimes", "MediaGen:Worker:Enabled has the value 'sometimes'")]
    [InlineData("MediaGen:Worker:Retry:Delay", "soon", "MediaGen:Worker:Retry:Delay")]
    [InlineData("MediaGen:Generators:Procedural:ProgressSteps", "0", "MediaGen:Generators:Procedural:ProgressSteps")]
    [InlineData("MediaGen:Credits:InitialBalance", "-1", "MediaGen:Credits:InitialBalance")]
    [InlineData("MediaGen:Samples:SseHeartbeatInterval", "00:00:00", "MediaGen:Samples:SseHeartbeatInterval")]
    [InlineData("MediaGen:Samples:ApiKey:abc", "x", "MediaGen:Samples:ApiKey is not a known setting")]
    [InlineData("MediaGen:MaxAttempts", "0", "MediaGen:MaxAttempts")]
    [InlineData("MediaGen:Webhooks:MaxAttempts", "0", "MediaGen:Webhooks:MaxAttempts")]
    [InlineData("MediaGen:ServiceBus:QueueNmae", "jobs", "MediaGen:ServiceBus:QueueNmae is not a known setting")]
    public void Start_InvalidConfiguration_FailsNamingTheKey(string key, string value, string expected)
    {
        using var factory = new ApiFactory(new Dictionary<string, string?> { [key] = value });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        Assert.Contains(expected, Flatten(error), StringComparison.Ordinal);
    }

    [Fact]
    public void Start_ServiceBusProviderWithoutConnection_FailsSayingWhatToSet()
    {
        using var factory = new ApiFactory(new Dictionary<string, string?> { ["MediaGen:Queue:Provider"] = "servicebus" });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        Assert.Contains("Service Bus needs ConnectionString", Flatten(error), StringComparison.Ordinal);
    }

    [Fact]
    public void Start_ReplicateSectionWithoutToken_FailsNamingTheKey()
    {
        using var factory = new ApiFactory(new Dictionary<string, string?> { ["MediaGen:Generators:Replicate:BaseUrl"] = "http://127.0.0.1:9/" });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        Assert.Contains("MediaGen:Generators:Replicate:ApiToken is required", Flatten(error), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_ProviderTokensSet_TheirModelsAreServedBesideTheProceduralOnes()
    {
        using var factory = new ApiFactory(new Dictionary<string, string?>
        {
            ["MediaGen:Generators:Replicate:ApiToken"] = "r8_test",
            ["MediaGen:Generators:Replicate:BaseUrl"] = "http://127.0.0.1:9/",
            ["MediaGen:Generators:HuggingFace:ApiToken"] = "hf_test",
        });
        using var client = factory.CreateClient();

        var models = await client.GetStringAsync("/api/v1/models");

        foreach (var id in new[] { "procedural", "flux-schnell", "flux-dev", "flux-1.1-pro", "sdxl", "sd3", "hf-flux-1-dev" })
        {
            Assert.Contains($"\"{id}\"", models, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Start_ProviderNamesAreCaseInsensitive()
    {
        using var factory = new ApiFactory(new Dictionary<string, string?> { ["MediaGen:Queue:Provider"] = "inmemory", ["MediaGen:Storage:Provider"] = "FILESYSTEM" });
        using var client = factory.CreateClient();

        using var response = await client.GetAsync("/health");

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }

    private static string Flatten(Exception error)
    {
        var messages = new List<string>();
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            messages.Add(e.Message);
            if (e is AggregateException aggregate)
            {
                messages.AddRange(aggregate.InnerExceptions.Select(i => i.Message));
            }
        }

        return string.Join(Environment.NewLine, messages);
    }
}
