namespace MediaGen.Generators.Replicate.Tests;

/// <summary>
/// The result cache end to end on the in-memory defaults, with the provider's predictions counted by the fake Replicate
/// server: a hit calls no provider, is charged the configured price and belongs to its owner alone.
/// </summary>
public sealed class ReplicateResultCacheTests : FakeServerTests<FakeReplicateServer>
{
    private static readonly GenerationSettings FixedSeed = new() { OutputCount = 2, AspectRatio = "16:9", Seed = 42 };

    protected override Task<FakeReplicateServer> StartServerAsync() => FakeReplicateServer.StartAsync();

    [Fact]
    public async Task SubmitAsync_IdenticalFixedSeedRequestOfAnotherOwner_IsServedFromCacheWithNoPredictionAndTheConfiguredCharge()
    {
        using var host = await StartHostAsync(o => o.CacheHitCredits = 1);
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var ledger = host.Services.GetRequiredService<ICreditLedger>();
        var original = await GenerateAsync(host, "alice");

        var submitted = await client.SubmitAsync(Request("bob"));

        Assert.True(submitted.Created);
        var hit = submitted.Job;
        Assert.Equal((JobStatus.Succeeded, true, 0), (hit.Status, hit.CacheHit, hit.Attempt));
        Assert.Equal(1, Server.PredictionsCreated);
        Assert.Equal((1L, 0L), (hit.CreditsCharged, hit.CreditsRefunded));
        Assert.Equal(99, await ledger.GetBalanceAsync("bob"));
        Assert.Equal(98, await ledger.GetBalanceAsync("alice"));
        Assert.Empty(await ledger.ListOpenReservationsAsync(DateTimeOffset.MaxValue, 100));
        Assert.Null(hit.Checkpoint);

        // Copies under the new job's own keys, byte for byte.
        Assert.Equal([$"{hit.Id}/0.webp", $"{hit.Id}/1.webp"], hit.Outputs.Select(o => o.Key));
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(
                await File.ReadAllBytesAsync(Path.Combine(Root.Path, original.Id, $"{i}.webp")),
                await File.ReadAllBytesAsync(Path.Combine(Root.Path, hit.Id, $"{i}.webp")));
            Assert.Equal(original.Outputs[i].Size, hit.Outputs[i].Size);
        }

        // The stored job says so, and nothing in it names the other owner's job.
        var stored = await client.GetAsync("bob", hit.Id);
        Assert.True(stored.CacheHit);
        Assert.DoesNotContain(original.Id, System.Text.Json.JsonSerializer.Serialize(stored), StringComparison.Ordinal);
        await host.StopAsync();
    }

    [Fact]
    public async Task SubmitAsync_CacheHit_EachOwnerSeesOnlyItsOwnJob()
    {
        using var host = await StartHostAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var original = await GenerateAsync(host, "alice");

        var hit = (await client.SubmitAsync(Request("bob"))).Job;

        var bobs = await client.ListAsync(new JobQuery { OwnerId = "bob" });
        Assert.Equal([hit.Id], bobs.Items.Select(j => j.Id));
        var alices = await client.ListAsync(new JobQuery { OwnerId = "alice" });
        Assert.Equal([original.Id], alices.Items.Select(j => j.Id));
        await Assert.ThrowsAsync<JobNotFoundException>(() => client.GetAsync("bob", original.Id).AsTask());
        await Assert.ThrowsAsync<JobNotFoundException>(() => client.GetAsync("alice", hit.Id).AsTask());
        await host.StopAsync();
    }

    /// <summary>Requests the cache must not serve: each is generated (a second prediction) and charged in full.</summary>
    public static TheoryData<string> Uncached => ["random seed", "model not cached, no opt-in", "opt-in not allowed", "opt-out of a cached model"];

    [Theory]
    [MemberData(nameof(Uncached))]
    public async Task SubmitAsync_NotCacheable_IsGeneratedAndChargedInFull(string scenario)
    {
        var noSeed = new GenerationSettings { OutputCount = 2, AspectRatio = "16:9" };
        var (configure, first, second) = scenario switch
        {
            "random seed" => (null, Request("alice") with { Settings = noSeed }, Request("bob") with { Settings = noSeed, UseResultCache = true }),
            "model not cached, no opt-in" => (o => o.Models.Clear(), Request("alice"), Request("bob")),
            "opt-in not allowed" => (o => { o.Models.Clear(); o.AllowRequestOptIn = false; }, Request("alice") with { UseResultCache = true }, Request("bob") with { UseResultCache = true }),
            _ => ((Action<ResultCacheOptions>?)null, Request("alice"), Request("bob") with { UseResultCache = false }),
        };
        using var host = await StartHostAsync(configure);
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var ledger = host.Services.GetRequiredService<ICreditLedger>();
        await host.Services.WaitForTerminalAsync("alice", (await client.SubmitAsync(first)).Job.Id);

        var job = await host.Services.WaitForTerminalAsync("bob", (await client.SubmitAsync(second)).Job.Id);

        Assert.Equal((JobStatus.Succeeded, false), (job.Status, job.CacheHit));
        Assert.Equal(2, Server.PredictionsCreated);
        Assert.Equal(98, await ledger.GetBalanceAsync("bob"));
        await host.StopAsync();
    }

    [Fact]
    public async Task SubmitAsync_RequestOptsIn_IsServedFromCacheForAModelNotListed()
    {
        using var host = await StartHostAsync(o => o.Models.Clear());
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var first = await client.SubmitAsync(Request("alice") with { UseResultCache = true });
        await host.Services.WaitForTerminalAsync("alice", first.Job.Id);

        var hit = (await client.SubmitAsync(Request("bob") with { UseResultCache = true })).Job;

        Assert.True(hit.CacheHit);
        Assert.Equal(1, Server.PredictionsCreated);
        await host.StopAsync();
    }

    [Fact]
    public async Task SubmitAsync_DifferentSeedOrPrompt_IsGenerated()
    {
        using var host = await StartHostAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        await GenerateAsync(host, "alice");

        var otherSeed = await client.SubmitAsync(Request("bob") with { Settings = FixedSeed with { Seed = 43 } });
        var otherPrompt = await client.SubmitAsync(Request("bob") with { Prompt = TestSupport.Prompt + ", at dawn" });
        await host.Services.WaitForTerminalAsync("bob", otherSeed.Job.Id);
        await host.Services.WaitForTerminalAsync("bob", otherPrompt.Job.Id);

        Assert.False(otherSeed.Job.CacheHit);
        Assert.False(otherPrompt.Job.CacheHit);
        Assert.Equal(3, Server.PredictionsCreated);
        await host.StopAsync();
    }

    [Fact]
    public async Task DeleteAsync_TheOriginal_KeepsTheCopyReadableAndTheNextRequestIsGenerated()
    {
        using var host = await StartHostAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var storage = host.Services.GetRequiredService<IMediaStorage>();
        var original = await GenerateAsync(host, "alice");
        var originalBytes = await File.ReadAllBytesAsync(Path.Combine(Root.Path, original.Id, "0.webp"));
        var hit = (await client.SubmitAsync(Request("bob"))).Job;

        await client.DeleteAsync("alice", original.Id);

        Assert.False(Directory.Exists(Path.Combine(Root.Path, original.Id)));
        var copy = await client.GetAsync("bob", hit.Id);
        await using (var read = await storage.OpenReadAsync(copy.Outputs[0].Key))
        {
            using var bytes = new MemoryStream();
            await read.CopyToAsync(bytes);
            Assert.Equal(originalBytes, bytes.ToArray());
        }

        // The index named the deleted job: that is a miss (the entry is dropped), so the next request is generated.
        var next = await client.SubmitAsync(Request("carol"));
        var job = await host.Services.WaitForTerminalAsync("carol", next.Job.Id);
        Assert.Equal((JobStatus.Succeeded, false), (job.Status, job.CacheHit));
        Assert.Equal(2, Server.PredictionsCreated);

        // And that generation serves the one after it.
        Assert.True((await client.SubmitAsync(Request("dave"))).Job.CacheHit);
        Assert.Equal(2, Server.PredictionsCreated);
        await host.StopAsync();
    }

    [Fact]
    public async Task SubmitAsync_OriginalObjectsGone_FallsBackToGenerationWithTheNewPredictionsImages()
    {
        using var host = await StartHostAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var storage = host.Services.GetRequiredService<IMediaStorage>();
        var ledger = host.Services.GetRequiredService<ICreditLedger>();
        var original = await GenerateAsync(host, "alice");
        await storage.DeleteAsync(original.Outputs[1].Key); // the job stands, its second image is gone

        var submitted = await client.SubmitAsync(Request("bob"));
        var job = await host.Services.WaitForTerminalAsync("bob", submitted.Job.Id);

        Assert.Equal((JobStatus.Pending, false), (submitted.Job.Status, submitted.Job.CacheHit));
        Assert.Equal((JobStatus.Succeeded, false), (job.Status, job.CacheHit));
        Assert.Equal(2, Server.PredictionsCreated);
        Assert.Equal(98, await ledger.GetBalanceAsync("bob"));
        var predictionId = Assert.IsType<string>(job.Checkpoint);
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(FakeReplicateServer.OutputBytes(predictionId, i, Server.OutputSize), await File.ReadAllBytesAsync(Path.Combine(Root.Path, job.Id, $"{i}.webp")));
        }
        await host.StopAsync();
    }

    [Fact]
    public async Task SubmitAsync_OwnerCannotPayTheCacheHitPrice_IsRefusedWithNothingWritten()
    {
        using var host = await StartHostAsync(o => o.CacheHitCredits = 101);
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var ledger = host.Services.GetRequiredService<ICreditLedger>();
        await GenerateAsync(host, "alice");
        var before = Directory.GetDirectories(Root.Path).Length;

        await Assert.ThrowsAsync<InsufficientCreditsException>(() => client.SubmitAsync(Request("bob")).AsTask());

        Assert.Empty((await client.ListAsync(new JobQuery { OwnerId = "bob" })).Items);
        Assert.Equal(100, await ledger.GetBalanceAsync("bob"));
        Assert.Equal(before, Directory.GetDirectories(Root.Path).Length);
        Assert.Equal(1, Server.PredictionsCreated);
        await host.StopAsync();
    }

    [Fact]
    public async Task SubmitAsync_CacheHitResubmittedWithItsIdempotencyKey_ReturnsTheSameJobAndChargesOnce()
    {
        using var host = await StartHostAsync(o => o.CacheHitCredits = 1);
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var ledger = host.Services.GetRequiredService<ICreditLedger>();
        await GenerateAsync(host, "alice");

        var first = await client.SubmitAsync(Request("bob") with { IdempotencyKey = "k-1" });
        var again = await client.SubmitAsync(Request("bob") with { IdempotencyKey = "k-1" });

        Assert.True(first.Created);
        Assert.False(again.Created);
        Assert.Equal(first.Job.Id, again.Job.Id);
        Assert.Equal(99, await ledger.GetBalanceAsync("bob"));
        Assert.Empty(await ledger.ListOpenReservationsAsync(DateTimeOffset.MaxValue, 100));
        Assert.Equal(2, Directory.GetDirectories(Root.Path).Length);
        await host.StopAsync();
    }

    private async Task<GenerationJob> GenerateAsync(IHost host, string owner)
    {
        var submitted = await host.Services.GetRequiredService<IMediaGenerationClient>().SubmitAsync(Request(owner));
        Assert.False(submitted.Job.CacheHit);
        var job = await host.Services.WaitForTerminalAsync(owner, submitted.Job.Id);
        Assert.Equal(JobStatus.Succeeded, job.Status);
        return job;
    }

    private static GenerationRequest Request(string owner) => new()
    {
        Prompt = TestSupport.Prompt,
        Model = "flux-schnell",
        OwnerId = owner,
        Settings = FixedSeed,
    };

    private async Task<IHost> StartHostAsync(Action<ResultCacheOptions>? cache = null)
    {
        var host = Host.CreateDefaultBuilder().ConfigureServices(s => s
            .AddMediaGeneration()
            .UseFileSystemStorage(o => o.RootPath = Root.Path)
            .ConfigureCredits(o => o.InitialBalance = 100)
            .ConfigureResultCache(o =>
            {
                o.Models.Add("flux-schnell");
                cache?.Invoke(o);
            })
            .AddReplicateGenerator(o =>
            {
                o.BaseUrl = Server.BaseUrl;
                o.ApiToken = FakeReplicateServer.Token;
                o.PollInitialInterval = TimeSpan.FromMilliseconds(1);
                o.PollMaxInterval = TimeSpan.FromMilliseconds(5);
            })
            .AddWorker(o => o.Concurrency = 2)).Build();
        await host.StartAsync();
        return host;
    }
}
