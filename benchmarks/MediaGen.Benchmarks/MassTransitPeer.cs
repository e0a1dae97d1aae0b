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

    /// <summary>Starts the bus; with <paramref name="recordStarts"/> its consumer takes <see cref="TimedJob"/>s (latency mode) instead of <see cref="NoOpJob"/>s.</summary>
    public static async Task<MassTransitPeer> StartAsync(int concurrency, bool recordStarts = false)
    {
        MassTransitCompletions.Reset();
        var services = new ServiceCollection();
        services.AddMassTransit(bus =>
        {
            if (recordStarts)
            {
                bus.AddConsumer<StartRecordingConsumer>();
            }
            else
            {
                bus.AddConsumer<NoOpConsumer>();
            }

            bus.UsingInMemory((context, transport) =>
            {
                transport.ReceiveEndpoint(QueueName, endpoint =>
                {
                    endpoint.ConcurrentMessageLimit = concurrency;
                    endpoint.PrefetchCount = Math.Max(concurrency, 16);
                    if (recordStarts)
                    {
                        endpoint.ConfigureConsumer<StartRecordingConsumer>(context);
                    }
                    else
                    {
                        endpoint.ConfigureConsumer<NoOpConsumer>(context);
                    }
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

/// <summary>The latency mode's message: the slot its submit and start timestamps go in.</summary>
/// <param name="Index">The slot.</param>
public sealed record TimedJob(int Index);

/// <summary>Writes the start timestamp into the message's slot, as the MediaGen and Hangfire latency runs do, and counts.</summary>
internal sealed class StartRecordingConsumer : IConsumer<TimedJob>
{
    private static long[] s_started = [];

    public static void UseStartTimestamps(long[] started) => Volatile.Write(ref s_started, started);

    public Task Consume(ConsumeContext<TimedJob> context)
    {
        Volatile.Read(ref s_started)[context.Message.Index] = System.Diagnostics.Stopwatch.GetTimestamp();
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
