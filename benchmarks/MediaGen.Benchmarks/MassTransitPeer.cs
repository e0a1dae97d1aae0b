using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace MediaGen.Benchmarks;

/// <summary>
/// The second peer: MassTransit's in-memory bus with one receive endpoint whose concurrent message limit is the worker
/// count, a no-op consumer, and messages sent to that endpoint. Completion is counted when the consumer returns, the
/// point where MassTransit acknowledges the message, as MediaGen's is counted at the terminal event.
/// </summary>
internal sealed class MassTransitPeer : IAsyncDisposable
{
    private const string QueueName = "bench-jobs";
    private readonly ServiceProvider _services;
    private readonly IBusControl _bus;

    private MassTransitPeer(ServiceProvider services, IBusControl bus, ISendEndpoint endpoint)
    {
        _services = services;
        _bus = bus;
        Endpoint = endpoint;
    }

    public ISendEndpoint Endpoint { get; }

    public static async Task<MassTransitPeer> StartAsync(int concurrency)
    {
        MassTransitCompletions.Reset();
        var services = new ServiceCollection();
        services.AddMassTransit(bus =>
        {
            bus.AddConsumer<NoOpConsumer>();
            bus.UsingInMemory((context, transport) =>
            {
                transport.ReceiveEndpoint(QueueName, endpoint =>
                {
                    endpoint.ConcurrentMessageLimit = concurrency;
                    endpoint.PrefetchCount = Math.Max(concurrency, 16);
                    endpoint.ConfigureConsumer<NoOpConsumer>(context);
                });
            });
        });
        var provider = services.BuildServiceProvider();
        var control = provider.GetRequiredService<IBusControl>();
        await control.StartAsync().ConfigureAwait(false);
        var endpoint = await control.GetSendEndpoint(new Uri("queue:" + QueueName)).ConfigureAwait(false);
        return new MassTransitPeer(provider, control, endpoint);
    }

    public static Task WhenFinished(long total) => MassTransitCompletions.WhenFinished(total);

    public async ValueTask DisposeAsync()
    {
        await _bus.StopAsync().ConfigureAwait(false);
        await _services.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>The benchmark's message: the same shape of work as a MediaGen job's id.</summary>
/// <param name="Prompt">The prompt, carried as MediaGen's request carries one.</param>
public sealed record NoOpJob(string Prompt);

/// <summary>Does nothing and counts.</summary>
internal sealed class NoOpConsumer : IConsumer<NoOpJob>
{
    public Task Consume(ConsumeContext<NoOpJob> context)
    {
        MassTransitCompletions.Finished();
        return Task.CompletedTask;
    }
}

internal static class MassTransitCompletions
{
    private static TaskCompletionSource s_reached = NewSource();
    private static long s_target = long.MaxValue;
    private static long s_finished;

    public static void Reset()
    {
        Volatile.Write(ref s_target, long.MaxValue);
        Volatile.Write(ref s_finished, 0);
    }

    public static void Finished()
    {
        if (Interlocked.Increment(ref s_finished) >= Volatile.Read(ref s_target))
        {
            Volatile.Read(ref s_reached).TrySetResult();
        }
    }

    public static Task WhenFinished(long total)
    {
        var reached = NewSource();
        Volatile.Write(ref s_reached, reached);
        Volatile.Write(ref s_target, total);
        if (Volatile.Read(ref s_finished) >= total)
        {
            reached.TrySetResult();
        }

        return reached.Task;
    }

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
