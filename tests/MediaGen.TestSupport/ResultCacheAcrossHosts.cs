namespace MediaGen.TestSupport;

/// <summary>
/// The result cache on a shared backend, as separate API and worker processes use it: a worker host generates one
/// owner's job, and an API-only host (no worker) serves another owner's identical request from the backend's index,
/// charged the configured price, with no generation; each owner sees only its own job through either host. Only the API
/// host has cache options.
/// </summary>
public static class ResultCacheAcrossHosts
{
    private const long CacheHitCredits = 2;

    /// <summary>Runs the scenario on the backend that <paramref name="useBackend"/> selects (the same for both hosts).</summary>
    /// <param name="useBackend">Selects the shared backend on a builder.</param>
    /// <returns>A task that completes when the scenario passed.</returns>
    public static async Task RunAsync(Action<IMediaGenerationBuilder> useBackend)
    {
        ArgumentNullException.ThrowIfNull(useBackend);
        using var storage = new TempDirectory("result-cache-across-hosts");
        var generator = new CountingGenerator();
        using var worker = Build(useBackend, storage, generator, withWorker: true);
        using var api = Build(useBackend, storage, generator, withWorker: false);
        await worker.StartAsync();
        await api.StartAsync();
        try
        {
            var client = api.Services.GetRequiredService<IMediaGenerationClient>();
            var submitted = await client.SubmitAsync(Request("alice"));
            var original = await api.Services.WaitForTerminalAsync("alice", submitted.Job.Id);
            Assert.Equal((JobStatus.Succeeded, false), (original.Status, original.CacheHit));

            var hit = (await client.SubmitAsync(Request("bob"))).Job;

            Assert.Equal((JobStatus.Succeeded, true, CacheHitCredits), (hit.Status, hit.CacheHit, hit.CreditsCharged));
            Assert.Equal(1, generator.Calls);
            var ledger = api.Services.GetRequiredService<ICreditLedger>();
            Assert.Equal(100 - CacheHitCredits, await ledger.GetBalanceAsync("bob"));
            Assert.Equal(100 - CountingGenerator.Cost, await ledger.GetBalanceAsync("alice"));
            Assert.Empty(await ledger.ListOpenReservationsAsync(DateTimeOffset.MaxValue, 100));
            Assert.Equal(
                await File.ReadAllBytesAsync(Path.Combine(storage.Path, original.Outputs[0].Key)),
                await File.ReadAllBytesAsync(Path.Combine(storage.Path, hit.Outputs[0].Key)));

            // Read back through the other process: the stored job says it was a cache hit, and is bob's alone.
            var workerClient = worker.Services.GetRequiredService<IMediaGenerationClient>();
            Assert.True((await workerClient.GetAsync("bob", hit.Id)).CacheHit);
            await Assert.ThrowsAsync<JobNotFoundException>(() => workerClient.GetAsync("bob", original.Id).AsTask());
            Assert.Equal([hit.Id], (await workerClient.ListAsync(new JobQuery { OwnerId = "bob" })).Items.Select(j => j.Id));

            // Deleting the original keeps the copy; the stale entry is a miss, so the next request is generated.
            await client.DeleteAsync("alice", original.Id);
            Assert.True(File.Exists(Path.Combine(storage.Path, hit.Outputs[0].Key)));
            var next = await client.SubmitAsync(Request("carol"));
            Assert.False(next.Job.CacheHit);
            Assert.Equal(JobStatus.Succeeded, (await api.Services.WaitForTerminalAsync("carol", next.Job.Id)).Status);
            Assert.Equal(2, generator.Calls);
        }
        finally
        {
            await api.StopAsync();
            await worker.StopAsync();
        }
    }

    private static IHost Build(Action<IMediaGenerationBuilder> useBackend, TempDirectory storage, CountingGenerator generator, bool withWorker) =>
        Host.CreateDefaultBuilder().ConfigureServices(services =>
        {
            var builder = services.AddMediaGeneration()
                .UseFileSystemStorage(o => o.RootPath = storage.Path)
                .ConfigureCredits(o => o.InitialBalance = 100)
                .AddGenerator(generator);
            useBackend(builder);
            if (withWorker)
            {
                // The worker needs no cache options: the submission's decision travels with the job.
                builder.AddWorker(o => o.ReceiveWait = TimeSpan.FromMilliseconds(200));
            }
            else
            {
                builder.ConfigureResultCache(o =>
                {
                    o.Models.Add(CountingGenerator.ModelId);
                    o.CacheHitCredits = CacheHitCredits;
                });
            }
        }).Build();

    private static GenerationRequest Request(string owner) => new()
    {
        Prompt = "a kite over the dunes",
        Model = CountingGenerator.ModelId,
        OwnerId = owner,
        Settings = new GenerationSettings { Seed = 99 },
    };

    private sealed class CountingGenerator : IMediaGenerator
    {
        public const string ModelId = "counted";
        public const long Cost = 5;

        private int _calls;

        public string Name => "counted";

        public int Calls => Volatile.Read(ref _calls);

        public IReadOnlyList<ModelDescriptor> Models { get; } = [new ModelDescriptor { Id = ModelId, CostCredits = Cost }];

        public ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default)
        {
            var call = Interlocked.Increment(ref _calls);
            var bytes = System.Text.Encoding.UTF8.GetBytes($"image {call} of job {context.Job.Id}");
            return ValueTask.FromResult(new GenerationResult([GeneratedOutput.FromBytes("image/png", bytes)]));
        }
    }
}
