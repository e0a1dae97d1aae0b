using Microsoft.Extensions.Logging.Abstractions;

namespace MediaGen.Queue.ServiceBus.Tests;

/// <summary>Runs only against a real Azure Service Bus namespace; skipped (also under CI) when no connection string is set.</summary>
public sealed class ServiceBusNamespaceTests
{
    private const string Variable = "MEDIAGEN_SERVICEBUS_CONNECTION_STRING";

    [NamespaceFact]
    public async Task RoundTrip_RealNamespace_SendsReceivesRenewsAndCompletes()
    {
        var queueName = Environment.GetEnvironmentVariable("MEDIAGEN_SERVICEBUS_QUEUE") ?? "mediagen-tests";
        var options = new ServiceBusQueueOptions { ConnectionString = Environment.GetEnvironmentVariable(Variable), QueueName = queueName };
        var (client, administration) = ServiceBusConnection.Create(options);
        await using var queue = new ServiceBusJobQueue(client, ownsClient: true, administration, options, TimeProvider.System, NullLogger.Instance);
        var jobId = Guid.NewGuid().ToString("N");

        await queue.EnqueueAsync(new QueueMessage(jobId));
        var lease = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(30)));
        var lockedUntil = lease.LockedUntil;
        await lease.RenewAsync();
        await lease.CompleteAsync();

        Assert.Equal(jobId, lease.Message.JobId);
        Assert.Equal(1, lease.DeliveryCount);
        Assert.True(lease.LockedUntil >= lockedUntil);
    }

    /// <summary>A fact skipped whenever <c>MEDIAGEN_SERVICEBUS_CONNECTION_STRING</c> is unset, even under CI: no namespace is reachable from CI.</summary>
    private sealed class NamespaceFactAttribute : FactAttribute
    {
        public NamespaceFactAttribute()
        {
            if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable)))
            {
                Skip = $"{Variable} is not set; these tests need a real Azure Service Bus namespace.";
            }
        }
    }
}
