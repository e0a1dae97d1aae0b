using MediaGen.Internal;

namespace MediaGen.Core.Tests.FaultInjection;

/// <summary>
/// Worker scenarios run through a backend's own seams and lifecycle store, one delivery at a time on a fake clock, shared
/// by the backends' test projects.
/// </summary>
internal static class WorkerScenarios
{
    private const int MaxDeliveryCount = 3;

    /// <summary>A client and a worker (not started) over the given seams, running the procedural generator at once.</summary>
    public static ServiceProvider Services(FakeTimeProvider time, IJobQueue queue, IJobStore store, ICreditLedger ledger, IJobEventStream events, IJobLifecycleStore lifecycleStore)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddLogging();
        services.AddMediaGeneration()
            .ConfigureCredits(o => o.InitialBalance = 100)
            .UseQueue(_ => queue)
            .UseJobStore(_ => store)
            .UseCreditLedger(_ => ledger)
            .UseEventStream(_ => events)
            .AddLifecycleStore(_ => lifecycleStore)
            .UseStorage(_ => new MemoryMediaStorage())
            .AddProceduralGenerator(o => o.SimulatedDuration = TimeSpan.Zero)
            .AddWorker(o =>
            {
                o.SweepInterval = TimeSpan.Zero;
                o.MaxDeliveryCount = MaxDeliveryCount;
            });
        return services.BuildServiceProvider();
    }

    /// <summary>
    /// A job whose provider stays paused over more deliveries than the worker's MaxDeliveryCount allows: each delivery is
    /// handed back for the pause without being counted, the job waits Pending and unattempted, and runs once the pause ends.
    /// </summary>
    public static async Task PauseOutlastingTheDeliveryLimitAsync(IServiceProvider services, IJobQueue queue, IJobStore store, FakeTimeProvider time)
    {
        var client = services.GetRequiredService<IMediaGenerationClient>();
        var processor = services.GetRequiredService<JobProcessor>();
        var gate = services.GetRequiredService<ProviderRateGate>();
        var submitted = await client.SubmitAsync(new GenerationRequest { Prompt = "a lighthouse", Model = "procedural", OwnerId = "alice" });

        for (var delivery = 1; delivery <= MaxDeliveryCount * 2; delivery++)
        {
            // The provider keeps answering 429 to other jobs: this delivery finds it paused and hands the message back.
            await gate.PauseAsync("procedural", TimeSpan.FromSeconds(10));
            time.Advance(TimeSpan.FromSeconds(2));
            var lease = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.Zero));
            Assert.Equal(1, lease.DeliveryCount);
            await processor.ProcessAsync(lease, CancellationToken.None);
            Assert.Empty(await queue.ReceiveAsync(1, TimeSpan.Zero));
            time.Advance(TimeSpan.FromSeconds(9));
        }

        var waiting = (await store.GetAsync(submitted.Job.Id))!;
        Assert.Equal((JobStatus.Pending, 0, null), (waiting.Status, waiting.Attempt, waiting.Error));

        // The pause is over: the next delivery runs the job.
        time.Advance(TimeSpan.FromSeconds(2));
        var last = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.Zero));
        await processor.ProcessAsync(last, CancellationToken.None);
        var done = (await store.GetAsync(submitted.Job.Id))!;
        Assert.Equal((JobStatus.Succeeded, 1), (done.Status, done.Attempt));
        Assert.Empty(await queue.ListDeadLettersAsync(10));
    }
}
