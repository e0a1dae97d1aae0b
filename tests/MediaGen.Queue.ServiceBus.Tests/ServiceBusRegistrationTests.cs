using Azure.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace MediaGen.Queue.ServiceBus.Tests;

/// <summary>The registration overloads: who owns the client, what a configuration section may hold, what is validated at start-up.</summary>
public sealed class ServiceBusRegistrationTests : IAsyncLifetime
{
    private readonly SpecEndpointClients _clients = new(new FakeTimeProvider());

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _clients.DisposeAsync();

    [Fact]
    public async Task UseServiceBusQueue_CallerOwnedClient_IsUsedAndNeverDisposed()
    {
        _clients.Endpoint.CreateQueue("jobs", TimeSpan.FromSeconds(30));
        var client = _clients.NewClient();
        var services = new ServiceCollection();
        services.AddMediaGeneration().UseServiceBusQueue(sp => client, o => o.QueueName = "jobs");

        await using (var provider = services.BuildServiceProvider())
        {
            var queue = provider.GetRequiredService<IJobQueue>();
            await queue.EnqueueAsync(new QueueMessage("job-1"));
        }

        Assert.False(client.IsClosed);
        await using var receiver = client.CreateReceiver("jobs");
        var message = await receiver.ReceiveMessageAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("job-1", message?.MessageId);
    }

    [Fact]
    public void UseServiceBusQueue_SectionWithUnknownKey_FailsAtStartNamingIt()
    {
        var section = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ServiceBus:ConnectionString"] = _clients.Endpoint.ConnectionString,
            ["ServiceBus:QueueNmae"] = "jobs",
        }).Build().GetSection("ServiceBus");
        var services = new ServiceCollection();
        services.AddMediaGeneration().UseServiceBusQueue(section);
        using var provider = services.BuildServiceProvider();

        var e = Assert.ThrowsAny<InvalidOperationException>(() => provider.GetRequiredService<IOptions<ServiceBusQueueOptions>>().Value);

        Assert.Contains("QueueNmae", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UseServiceBusQueue_NoNamespace_FailsValidationSayingWhatToSet()
    {
        var services = new ServiceCollection();
        services.AddMediaGeneration().UseServiceBusQueue(o => o.QueueName = "jobs");
        using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ServiceBusQueueOptions>>().Value);

        Assert.Contains("Service Bus needs ConnectionString, or FullyQualifiedNamespace", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseServiceBusQueue_NamespaceAndCredential_CreatesAClientForThatNamespaceWithTheCredential()
    {
        var credential = new RecordingCredential();
        var services = new ServiceCollection();
        services.AddMediaGeneration().UseServiceBusQueue("contoso.servicebus.windows.net", credential, "jobs");
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<ServiceBusQueueOptions>>().Value;
        var queue = provider.GetRequiredService<IJobQueue>();

        Assert.Same(credential, options.Credential);
        Assert.Equal("contoso.servicebus.windows.net", options.FullyQualifiedNamespace);
        Assert.NotNull(queue);
        Assert.Equal(0, credential.Requests);
    }

    [Fact]
    public void UseServiceBusQueue_AfterAnotherQueue_ThrowsNamingBoth()
    {
        var builder = new ServiceCollection().AddMediaGeneration().UseInMemoryQueue();

        var e = Assert.Throws<InvalidOperationException>(() => builder.UseServiceBusQueue(_clients.Endpoint.ConnectionString, "jobs"));

        Assert.Contains("ServiceBus", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Counts token requests; the client asks for none until it first talks to the namespace.</summary>
    private sealed class RecordingCredential : TokenCredential
    {
        public int Requests { get; private set; }

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            Requests++;
            return new AccessToken("token", DateTimeOffset.MaxValue);
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}
