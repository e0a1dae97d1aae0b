namespace MediaGen.TestSupport;

/// <summary>
/// A worker host on a backend, end to end: 30 submissions of 25 distinct requests (five repeat an idempotency key) all
/// succeed once, each with its output, charged once, and leave the queue empty.
/// </summary>
public static class WorkerOnBackend
{
    /// <summary>Runs the scenario on the backend that <paramref name="useBackend"/> selects.</summary>
    /// <param name="useBackend">Selects the backend on a builder.</param>
    /// <returns>A task that completes when the scenario passed.</returns>
    public static async Task EveryJobSucceedsAndIsChargedOnceAsync(Action<IMediaGenerationBuilder> useBackend)
    {
        ArgumentNullException.ThrowIfNull(useBackend);
        using var storage = new TempDirectory("mediagen-worker-on-backend");
        using var host = Host.CreateDefaultBuilder()
            .ConfigureServices(services =>
            {
                var builder = services.AddMediaGeneration();
                useBackend(builder);
                builder
                    .UseFileSystemStorage(o => o.RootPath = storage.Path)
                    .ConfigureCredits(o => o.InitialBalance = 1000)
                    .AddGenerator(new InstantGenerator())
                    .AddWorker(o => o.Concurrency = 8);
            })
            .Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();

        var submitted = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            var result = await client.SubmitAsync(new GenerationRequest { Prompt = $"image {i % 25}", Model = InstantGenerator.ModelId, OwnerId = "owner", IdempotencyKey = $"k{i % 25}" });
            submitted.Add(result.Job.Id);
        }

        var distinct = submitted.Distinct().ToList();
        var jobs = new List<GenerationJob>();
        foreach (var id in distinct)
        {
            jobs.Add(await WaitForTerminalAsync(host.Services, id));
        }

        await host.StopAsync();
        Assert.Equal(25, distinct.Count);
        Assert.All(jobs, j => Assert.Equal(JobStatus.Succeeded, j.Status));
        Assert.All(jobs, j => Assert.Single(j.Outputs));
        Assert.Equal(1000 - (25 * 3), await host.Services.GetRequiredService<ICreditLedger>().GetBalanceAsync("owner"));
        Assert.Equal(new QueueDepth(0, 0, 0, 0), await host.Services.GetRequiredService<IJobQueue>().GetDepthAsync());
    }

    // Subscribes to the job's events and proves the subscription live before reading the job, so a terminal event cannot
    // slip between the read and the subscription on a backend whose stream keeps no history.
    private static async Task<GenerationJob> WaitForTerminalAsync(IServiceProvider services, string jobId)
    {
        var events = services.GetRequiredService<IJobEventStream>();
        var client = services.GetRequiredService<IMediaGenerationClient>();
        await using var subscription = await EventSubscription.OpenLiveAsync(events, events, jobId, Waits.Limit);
        var job = await client.GetAsync("owner", jobId);
        while (!job.Status.IsTerminal())
        {
            await subscription.NextAsync(1);
            job = await client.GetAsync("owner", jobId);
        }

        return job;
    }
}
