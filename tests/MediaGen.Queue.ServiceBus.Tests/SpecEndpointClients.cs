namespace MediaGen.Queue.ServiceBus.Tests;

/// <summary>
/// An in-process <see cref="SpecAmqpEndpoint"/> on a fake clock and the adapter's queues on it, each on its own
/// <see cref="ServiceBusClient"/> (its own connection, as another process would have). The official client runs on the
/// wall clock (it compares lock and token times with the real time), so the fake clock starts at the real time, on a
/// whole second; moving it then moves only the endpoint's locks and schedules, never the client's own timers.
/// </summary>
internal sealed class SpecEndpointClients : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _created = [];

    public SpecEndpointClients(FakeTimeProvider time)
    {
        var now = TimeProvider.System.GetUtcNow();
        var start = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
        if (time.GetUtcNow() < start)
        {
            time.SetUtcNow(start);
        }

        Time = time;
        Endpoint = new SpecAmqpEndpoint(time);
    }

    public FakeTimeProvider Time { get; }

    public SpecAmqpEndpoint Endpoint { get; }

    public ServiceBusJobQueue NewQueue(string name, Action<ServiceBusQueueOptions>? configure = null)
    {
        // A receive asked not to wait still allows one round trip; a build machine shared with other builds can stall a
        // process for more than the default 200 ms, so the tests allow 500 ms.
        var options = new ServiceBusQueueOptions { ConnectionString = Endpoint.ConnectionString, QueueName = name, MinimumReceiveWait = TimeSpan.FromMilliseconds(500) };
        configure?.Invoke(options);
        var (client, administration) = ServiceBusConnection.Create(options);
        var queue = new ServiceBusJobQueue(client, ownsClient: true, administration, options, Time, ConsoleWarningLogger.Instance);
        _created.Add(queue);
        return queue;
    }

    public ServiceBusClient NewClient()
    {
        var client = new ServiceBusClient(Endpoint.ConnectionString);
        _created.Add(client);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _created.Count - 1; i >= 0; i--)
        {
            await _created[i].DisposeAsync();
        }

        await Endpoint.DisposeAsync();
    }
}
