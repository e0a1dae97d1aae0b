namespace MediaGen.Queue.ServiceBus.Tests;

/// <summary>
/// The queue compliance suite through the official client (Azure.Messaging.ServiceBus) against
/// <see cref="SpecAmqpEndpoint"/>, an AMQP endpoint built from Microsoft's description of the Service Bus protocol. It
/// shows the adapter and the client speak that description correctly; it does not show Azure behaves the same. Depth
/// figures are -1 (the endpoint has no administration API), and Service Bus has no priorities.
/// </summary>
public sealed class ServiceBusJobQueueComplianceTests : JobQueueComplianceTests
{
    private readonly Dictionary<IJobQueue, string> _names = new(ReferenceEqualityComparer.Instance);
    private SpecEndpointClients? _clients;

    protected override bool ReportsAllDepthFigures => false;

    protected override bool SupportsPriorityOrdering => false;

    protected override bool SupportsFairShare => false;

    protected override bool SupportsQueuePosition => false;

    protected override ValueTask<IJobQueue> CreateQueueAsync(TimeSpan leaseDuration)
    {
        _clients ??= new SpecEndpointClients(Time);
        var name = "jobs-" + Guid.NewGuid().ToString("N")[..8];
        _clients.Endpoint.CreateQueue(name, leaseDuration);
        IJobQueue queue = _clients.NewQueue(name);
        _names[queue] = name;
        return ValueTask.FromResult(queue);
    }

    protected override ValueTask<IJobQueue> CreatePeerQueueAsync(IJobQueue queue)
    {
        IJobQueue peer = _clients!.NewQueue(_names[queue]);
        _names[peer] = _names[queue];
        return ValueTask.FromResult(peer);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_clients is not null)
        {
            await _clients.DisposeAsync();
        }
    }
}
