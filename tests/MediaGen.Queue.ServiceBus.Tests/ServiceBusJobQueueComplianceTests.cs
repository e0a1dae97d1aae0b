using MediaGen.Compliance;
using MediaGen.Queue.ServiceBus.Tests.Endpoint;
using MediaGen.ServiceBus.Internal;
using Microsoft.Extensions.Logging.Abstractions;

namespace MediaGen.Queue.ServiceBus.Tests;

/// <summary>
/// The queue compliance suite against <see cref="SpecAmqpEndpoint"/>, an AMQP 1.0 endpoint built from Microsoft's
/// description of the Service Bus protocol, over amqps on loopback. It shows the adapter speaks that description
/// correctly; it does not show Azure behaves the same. Depth figures are -1 (AMQP carries no counts), and the priority
/// tests pass because the endpoint orders by the AMQP header priority, which Service Bus does not.
/// </summary>
public sealed class ServiceBusJobQueueComplianceTests : JobQueueComplianceTests
{
    private SpecAmqpEndpoint? _endpoint;
    private readonly Dictionary<IJobQueue, string> _names = new(ReferenceEqualityComparer.Instance);

    protected override bool ReportsAllDepthFigures => false;

    protected override ValueTask<IJobQueue> CreateQueueAsync(TimeSpan leaseDuration)
    {
        _endpoint ??= new SpecAmqpEndpoint(Time);
        var name = "jobs-" + Guid.NewGuid().ToString("N")[..8];
        _endpoint.CreateQueue(name, leaseDuration);
        var queue = NewClient(name);
        _names[queue] = name;
        return ValueTask.FromResult(queue);
    }

    protected override ValueTask<IJobQueue> CreatePeerQueueAsync(IJobQueue queue)
    {
        var peer = NewClient(_names[queue]);
        _names[peer] = _names[queue];
        return ValueTask.FromResult(peer);
    }

    /// <summary>
    /// The fake clock jumps at once, while a settlement travels as an unanswered frame: before moving the clock, one
    /// round trip on each client's connection makes sure the endpoint has processed what was sent before the jump, as
    /// it would have on a real clock.
    /// </summary>
    protected override async ValueTask AdvanceTimeAsync(TimeSpan by)
    {
        foreach (var client in _names.Keys)
        {
            await ((ServiceBusJobQueue)client).FlushAsync(CancellationToken.None);
        }

        await base.AdvanceTimeAsync(by);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_endpoint is not null)
        {
            await _endpoint.DisposeAsync();
        }
    }

    private IJobQueue NewClient(string name) =>
        new ServiceBusJobQueue(
            new ServiceBusQueueOptions
            {
                ConnectionString = _endpoint!.ConnectionString,
                QueueName = name,
                RemoteCertificateValidation = _endpoint.ValidateCertificate,
                ReceiveRoundTrip = TimeSpan.FromMilliseconds(400),
            },
            Time,
            ConsoleWarningLogger.Instance);
}
