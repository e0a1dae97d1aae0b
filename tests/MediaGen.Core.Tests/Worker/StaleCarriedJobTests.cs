using MediaGen.Core.Tests.FaultInjection;

namespace MediaGen.Core.Tests.Worker;

/// <summary>
/// A queue that reads the job with the message can hand over a job older than the message: a retry that committed
/// while the receive ran leaves the new run's message carrying the finished run's job. The worker must not drop it.
/// </summary>
public sealed class StaleCarriedJobTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task Process_CarriedJobFinishedInAnEarlierRun_RunsTheRetriedRunAsStored()
    {
        await using var services = Services();
        var (client, processor, queue, store) = Parts(services);
        var (submitted, first) = await SubmitAndReceiveAsync(services);
        await services.GetRequiredService<JobLifecycle>().FailAsync(submitted, Bad, refund: true, first, deadLetter: false, requireHolder: null, exception: null);
        var failed = (await store.GetAsync(submitted.Id))!;
        var retried = await client.RetryAsync("alice", submitted.Id);
        Assert.Equal((JobStatus.Pending, 2), (retried.Status, retried.Run));

        // The run-2 message arrives carrying the job as it was before the retry: Failed, in run 1.
        var lease = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.Zero));
        Assert.Equal(retried.RunId, lease.Message.MessageId);
        await processor.ProcessAsync(new StaleCarryingLease(lease, failed), CancellationToken.None);

        var done = (await store.GetAsync(submitted.Id))!;
        Assert.Equal((JobStatus.Succeeded, 2, 1), (done.Status, done.Run, done.Attempt));
        Assert.Equal(new QueueDepth(0, 0, 0, 0), await queue.GetDepthAsync());
    }

    [Fact]
    public async Task Process_CarriedJobFinishedInTheMessagesOwnRun_DropsTheMessage()
    {
        await using var services = Services();
        var (_, processor, queue, store) = Parts(services);

        // A redelivery of a run that already failed (its message returned by a crash after the terminal write).
        var (submitted, first) = await SubmitAndReceiveAsync(services);
        await services.GetRequiredService<JobLifecycle>().FailAsync(submitted, Bad, refund: true, lease: null, deadLetter: false, requireHolder: null, exception: null);
        await first.AbandonAsync();
        var again = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.Zero));

        await processor.ProcessAsync(new StaleCarryingLease(again, (await store.GetAsync(submitted.Id))!), CancellationToken.None);

        Assert.Equal(JobStatus.Failed, (await store.GetAsync(submitted.Id))!.Status);
        Assert.Equal(new QueueDepth(0, 0, 0, 0), await queue.GetDepthAsync());
        Assert.Equal(100, await services.GetRequiredService<ICreditLedger>().GetBalanceAsync("alice"));
    }

    private static readonly JobError Bad = new("bad_input", "no", Retryable: false);

    private static (IMediaGenerationClient Client, JobProcessor Processor, IJobQueue Queue, IJobStore Store) Parts(IServiceProvider services) => (
        services.GetRequiredService<IMediaGenerationClient>(),
        services.GetRequiredService<JobProcessor>(),
        services.GetRequiredService<IJobQueue>(),
        services.GetRequiredService<IJobStore>());

    private static async Task<(GenerationJob Job, IQueueLease Lease)> SubmitAndReceiveAsync(IServiceProvider services)
    {
        var submitted = await services.GetRequiredService<IMediaGenerationClient>().SubmitAsync(
            new GenerationRequest { Prompt = "a lighthouse", Model = "procedural", OwnerId = "alice" });
        return (submitted.Job, Assert.Single(await services.GetRequiredService<IJobQueue>().ReceiveAsync(1, TimeSpan.Zero)));
    }

    private ServiceProvider Services()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddLogging();
        services.AddMediaGeneration()
            .ConfigureCredits(o => o.InitialBalance = 100)
            .UseStorage(_ => new MemoryMediaStorage())
            .AddProceduralGenerator(o => o.SimulatedDuration = TimeSpan.Zero)
            .AddWorker(o => o.SweepInterval = TimeSpan.Zero);
        return services.BuildServiceProvider();
    }

    /// <summary>A lease that carries the job it was given, as a queue that read an older snapshot would.</summary>
    private sealed class StaleCarryingLease(IQueueLease inner, GenerationJob carried) : IJobCarryingLease
    {
        public GenerationJob? Job => carried;

        public QueueMessage Message => inner.Message;

        public int DeliveryCount => inner.DeliveryCount;

        public DateTimeOffset EnqueuedAt => inner.EnqueuedAt;

        public DateTimeOffset LockedUntil => inner.LockedUntil;

        public JobPriority Priority => inner.Priority;

        public ValueTask CompleteAsync(CancellationToken cancellationToken = default) => inner.CompleteAsync(cancellationToken);

        public ValueTask AbandonAsync(TimeSpan delay = default, CancellationToken cancellationToken = default) => inner.AbandonAsync(delay, cancellationToken);

        public ValueTask DeferAsync(TimeSpan delay = default, CancellationToken cancellationToken = default) => inner.DeferAsync(delay, cancellationToken);

        public ValueTask DeadLetterAsync(string reason, string? description = null, CancellationToken cancellationToken = default) =>
            inner.DeadLetterAsync(reason, description, cancellationToken);

        public ValueTask RenewAsync(CancellationToken cancellationToken = default) => inner.RenewAsync(cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
