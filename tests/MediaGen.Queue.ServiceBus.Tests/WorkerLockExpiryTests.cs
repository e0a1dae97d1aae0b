using System.Text;
using Microsoft.Extensions.Hosting;

namespace MediaGen.Queue.ServiceBus.Tests;

/// <summary>
/// A lock that expires while a generation runs (the worker does not renew in time): the endpoint redelivers. The run is
/// owned by its lease, which lapsed with the lock, so the redelivery takes the run over, resumes the provider's work from
/// the checkpoint instead of paying again, and finishes the job; the first attempt's late outcome writes nothing, and its
/// completion is refused as lock-lost (reported to the worker as a lost lease). Shown on the spec-derived endpoint,
/// through the official client, with the Core worker. The endpoint's fake clock moves only its locks; the client's own
/// timers are not involved (the worker renews through the lease, not the client).
/// </summary>
public sealed class WorkerLockExpiryTests
{
    [Fact]
    public async Task Worker_LockExpiresMidGeneration_RedeliveryTakesOverAndTheProviderIsPaidOnce()
    {
        var time = new FakeTimeProvider();
        await using var clients = new SpecEndpointClients(time);
        var endpoint = clients.Endpoint;
        var specQueue = endpoint.CreateQueue("jobs", TimeSpan.FromSeconds(30));
        var generator = new CheckpointingGenerator();
        var root = Path.Combine(Path.GetTempPath(), "mediagen-sb-tests", Guid.NewGuid().ToString("N"));
        using var host = Host.CreateDefaultBuilder().ConfigureServices(services =>
        {
            services.AddSingleton<TimeProvider>(time);
            services.AddMediaGeneration()
                .UseServiceBusQueue(o =>
                {
                    o.ConnectionString = endpoint.ConnectionString;
                    o.QueueName = "jobs";
                })
                .UseFileSystemStorage(o => o.RootPath = root)
                .ConfigureCredits(o => o.InitialBalance = 100)
                .AddGenerator(generator)
                .AddWorker(o =>
                {
                    o.Concurrency = 2;
                    o.LeaseRenewalInterval = TimeSpan.FromHours(1);
                    o.SweepInterval = TimeSpan.Zero;
                });
        }).Build();
        await host.StartAsync();
        try
        {
            var client = host.Services.GetRequiredService<IMediaGenerationClient>();
            var submitted = await client.SubmitAsync(new GenerationRequest { Prompt = "a lighthouse at dusk", Model = generator.ModelId, OwnerId = "alice" });
            await generator.FirstCallWaiting.Task.WaitAsync(TimeSpan.FromSeconds(30));

            // The first attempt holds its lease past the lock duration without renewing: the endpoint redelivers, the run's
            // lease on the job has lapsed with it, and the redelivery takes the run over from the checkpoint.
            time.Advance(TimeSpan.FromSeconds(31));
            var job = await host.Services.WaitForTerminalAsync("alice", submitted.Job.Id);
            await PollAsync(() => specQueue.ActiveCount == 0, "the redelivered message to be completed");

            // The first attempt then finishes; it no longer holds the run, so it writes nothing, and the endpoint refuses its
            // completion, which names a lock that is gone.
            generator.ReleaseFirstCall();
            await PollAsync(() => specQueue.StaleSettlements >= 1, "the first delivery's late completion");

            Assert.Equal(JobStatus.Succeeded, job.Status);
            Assert.Equal(2, job.Attempt);
            Assert.Equal(2, generator.Calls);
            Assert.Equal(1, generator.Creates);
            Assert.Equal(job.Version, (await client.GetAsync("alice", submitted.Job.Id)).Version);
            Assert.Equal(0, specQueue.DeadLetterCount);
            Assert.Equal(0, specQueue.ActiveCount);
        }
        finally
        {
            await host.StopAsync();
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    // The spec endpoint's counters announce nothing: a short poll on them.
    private static async Task PollAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 1000; i++)
        {
            if (condition())
            {
                return;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"Timed out waiting for {what}.");
    }

    /// <summary>Pays the provider ("creates") only when the job has no checkpoint; the first call then blocks.</summary>
    private sealed class CheckpointingGenerator : IMediaGenerator
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;
        private int _creates;
        private int _returned;

        public string Name => "checkpointing";

        public IReadOnlyList<ModelDescriptor> Models { get; } = [new ModelDescriptor { Id = "checkpointing-model", CostCredits = 5, ExpectedDuration = TimeSpan.FromSeconds(1) }];

        public string ModelId => Models[0].Id;

        public TaskCompletionSource FirstCallWaiting { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Calls => Volatile.Read(ref _calls);

        public int Creates => Volatile.Read(ref _creates);

        public int Returned => Volatile.Read(ref _returned);

        public void ReleaseFirstCall() => _release.TrySetResult();

        public async ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default)
        {
            var call = Interlocked.Increment(ref _calls);
            try
            {
                if (context.ExistingCheckpoint is null)
                {
                    Interlocked.Increment(ref _creates);
                    await context.Checkpoint.SaveAsync("prediction-1", cancellationToken);
                }

                if (call == 1)
                {
                    FirstCallWaiting.TrySetResult();
                    await _release.Task;
                }

                return new GenerationResult([GeneratedOutput.FromBytes("image/png", Encoding.UTF8.GetBytes("png"))]);
            }
            finally
            {
                Interlocked.Increment(ref _returned);
            }
        }
    }
}
