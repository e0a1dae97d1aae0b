namespace MediaGen.Core.Tests.Pipeline;

/// <summary>
/// The result cache in one process: what decides a cache key, what is recorded, and that a copy that cannot be made
/// falls back to generating (never a failed job for the owner).
/// </summary>
public sealed class ResultCacheTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("mediagen-result-cache");

    public void Dispose() => _root.Delete(recursive: true);

    [Fact]
    public void ResultCacheKey_SameWorkFromAnotherOwner_IsTheSameKey()
    {
        var a = Request("alice") with { IdempotencyKey = "k-1", Priority = JobPriority.High, WebhookUrl = new Uri("https://example.com/hook"), UseResultCache = true };
        var b = Request("bob");

        Assert.Equal(ResultCacheKey.Compute(a), ResultCacheKey.Compute(b));
        Assert.Matches("^[0-9a-f]{64}$", ResultCacheKey.Compute(a));
    }

    [Fact]
    public void ResultCacheKey_ParametersInAnotherOrderOrNumberSpelling_IsTheSameKey()
    {
        var a = Request("alice") with { Parameters = Parameters("""{"guidance": 3.50, "style": {"b": 1, "a": [1, 2]}}""") };
        var b = Request("alice") with { Parameters = Parameters("""{"style": {"a": [1, 2], "b": 1.0}, "guidance": 3.5}""") };

        Assert.Equal(ResultCacheKey.Compute(a), ResultCacheKey.Compute(b));
    }

    [Fact]
    public void ResultCacheKey_AnythingThatChangesTheImage_ChangesTheKey()
    {
        var baseline = Request("alice");
        var key = ResultCacheKey.Compute(baseline);
        GenerationRequest[] variants =
        [
            baseline with { Prompt = baseline.Prompt + "!" },
            baseline with { NegativePrompt = "fog" },
            baseline with { Model = "other" },
            baseline with { Settings = baseline.Settings with { Seed = 8 } },
            baseline with { Settings = baseline.Settings with { OutputCount = 3 } },
            baseline with { Settings = baseline.Settings with { Width = 256, Height = 256 } },
            baseline with { Settings = baseline.Settings with { OutputFormat = OutputFormat.Webp } },
            baseline with { Parameters = Parameters("""{"guidance": 3.5}""") },
            baseline with { Parameters = Parameters("""{"guidance": [1, 2]}""") },
            baseline with { Parameters = Parameters("""{"guidance": [2, 1]}""") },
        ];

        var keys = variants.Select(ResultCacheKey.Compute).ToList();

        Assert.DoesNotContain(key, keys);
        Assert.Equal(keys.Count, keys.Distinct().Count());
    }

    [Fact]
    public async Task SubmitAsync_StorageFailsWhileCopying_FallsBackToGeneratingAndCountsTheError()
    {
        var generator = new ScriptedGenerator("plain", (_, _) => ValueTask.FromResult(ScriptedGenerator.TextOutputs("one", "two")));
        FaultyStorage? storage = null;
        using var host = StartHost(generator, b => b.UseStorage(sp => storage = new FaultyStorage(ActivatorUtilities.CreateInstance<FileSystemMediaStorage>(sp))));
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        using var errors = new MetricCollector<long>(host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "MediaGen", "mediagen.cache.error");
        var original = await host.Services.WaitForTerminalAsync("alice", (await client.SubmitAsync(Request("alice", generator.ModelId))).Job.Id);
        storage!.FailReadsOf = original.Outputs[1].Key;

        var submitted = await client.SubmitAsync(Request("bob", generator.ModelId));
        var job = await host.Services.WaitForTerminalAsync("bob", submitted.Job.Id);

        Assert.False(submitted.Job.CacheHit);
        Assert.Equal((JobStatus.Succeeded, false), (job.Status, job.CacheHit));
        Assert.Equal(2, generator.Calls);
        Assert.Equal(1, errors.GetMeasurementSnapshot().EvaluateAsCounter());

        // The generated job is charged as any other (the cache attempt's reservation, under an id given up, was refunded),
        // and the copy made before the failing read is gone: the storage holds the two jobs' outputs only.
        Assert.Equal(100 - job.CreditsCharged, await host.Services.GetRequiredService<ICreditLedger>().GetBalanceAsync("bob"));
        Assert.Equal(new[] { original.Id, job.Id }.Order(StringComparer.Ordinal), _root.GetDirectories().Select(d => d.Name).Order(StringComparer.Ordinal).ToArray());

        // The index still names the original, whose objects are fine once the storage is: the next request is a hit.
        storage.FailReadsOf = null;
        Assert.True((await client.SubmitAsync(Request("carol", generator.ModelId))).Job.CacheHit);
        Assert.Equal(2, generator.Calls);
        await host.StopAsync();
    }

    [Fact]
    public async Task SubmitAsync_CopyStallsPastHalfTheStalePeriod_GivesUpBeforeTheSweeperAndGenerates()
    {
        // The copy takes three minutes: past half the sweeper's stale period (five minutes), after which the sweeper may take
        // the reservation for one a crash left, refund it and delete the copies while the job is being written.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var generator = new ScriptedGenerator("plain", (_, _) => ValueTask.FromResult(ScriptedGenerator.TextOutputs("one", "two")));
        FaultyStorage? storage = null;
        using var host = StartHost(generator, b =>
        {
            b.Services.AddSingleton<TimeProvider>(time);
            b.UseStorage(sp => storage = new FaultyStorage(ActivatorUtilities.CreateInstance<FileSystemMediaStorage>(sp)));
        });
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var original = await host.Services.WaitForTerminalAsync("alice", (await client.SubmitAsync(Request("alice", generator.ModelId))).Job.Id);
        storage!.BeforeRead = key =>
        {
            if (key == original.Outputs[1].Key)
            {
                time.Advance(TimeSpan.FromMinutes(3));
            }
        };

        var submitted = await client.SubmitAsync(Request("bob", generator.ModelId));
        storage.BeforeRead = null;
        var job = await host.Services.WaitForTerminalAsync("bob", submitted.Job.Id);

        Assert.False(submitted.Job.CacheHit);
        Assert.Equal((JobStatus.Succeeded, false), (job.Status, job.CacheHit));
        Assert.Equal(2, generator.Calls);
        Assert.Equal(100 - job.CreditsCharged, await host.Services.GetRequiredService<ICreditLedger>().GetBalanceAsync("bob"));
        Assert.Equal(new[] { original.Id, job.Id }.Order(StringComparer.Ordinal), _root.GetDirectories().Select(d => d.Name).Order(StringComparer.Ordinal).ToArray());

        // A copy that takes less than that is served as usual.
        storage.BeforeRead = key => time.Advance(TimeSpan.FromSeconds(30));
        Assert.True((await client.SubmitAsync(Request("carol", generator.ModelId))).Job.CacheHit);
        await host.StopAsync();
    }

    [Fact]
    public async Task SubmitAsync_IndexNamesAJobThatIsGone_IsAMissAndTheEntryIsRemoved()
    {
        var (host, generator, original) = await StartWithOriginalAsync();
        using var started = host;
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var index = host.Services.GetRequiredService<IResultCacheIndex>();
        var key = ResultCacheKey.Compute(original.Request);
        Assert.Equal(original.Id, await index.GetAsync(key));
        await host.Services.GetRequiredService<IJobStore>().DeleteAsync(original.Id); // gone behind the client's back

        var job = await host.Services.WaitForTerminalAsync("bob", (await client.SubmitAsync(Request("bob", generator.ModelId))).Job.Id);

        Assert.Equal((JobStatus.Succeeded, false), (job.Status, job.CacheHit));
        Assert.Equal(2, generator.Calls);
        Assert.Equal(job.Id, await index.GetAsync(key)); // removed, then recorded again by the new generation
        await host.StopAsync();
    }

    [Fact]
    public async Task DeleteAsync_RecordedJob_RemovesItsEntry()
    {
        var (host, generator, original) = await StartWithOriginalAsync();
        using var started = host;
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var index = host.Services.GetRequiredService<IResultCacheIndex>();
        var hit = (await client.SubmitAsync(Request("bob", generator.ModelId))).Job;

        await client.DeleteAsync("bob", hit.Id); // a copy is not recorded, so deleting it leaves the entry
        Assert.Equal(original.Id, await index.GetAsync(ResultCacheKey.Compute(original.Request)));
        await client.DeleteAsync("alice", original.Id);

        Assert.Null(await index.GetAsync(ResultCacheKey.Compute(original.Request)));
        await host.StopAsync();
    }

    [Fact]
    public async Task Worker_PartialSuccess_IsNotRecorded()
    {
        var generator = new ScriptedGenerator("partial", (_, _) => ValueTask.FromResult(new GenerationResult(
            [GeneratedOutput.FromBytes("image/png", new byte[] { 1, 2, 3 })],
            [new OutputFailure(1, "provider_error", "The second image was not returned.")])));
        using var host = StartHost(generator);
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var first = await host.Services.WaitForTerminalAsync("alice", (await client.SubmitAsync(Request("alice", generator.ModelId))).Job.Id);

        var second = await host.Services.WaitForTerminalAsync("bob", (await client.SubmitAsync(Request("bob", generator.ModelId))).Job.Id);

        Assert.Single(first.FailedOutputs);
        Assert.False(second.CacheHit);
        Assert.Equal(2, generator.Calls);
        await host.StopAsync();
    }

    [Fact]
    public async Task SubmitAsync_CacheHit_PublishesSucceededAndNeverStartsAnAttempt()
    {
        var generator = new ScriptedGenerator("plain", (_, _) => ValueTask.FromResult(ScriptedGenerator.TextOutputs("one", "two")));
        using var host = StartHost(generator);
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var meters = host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        await host.Services.WaitForTerminalAsync("alice", (await client.SubmitAsync(Request("alice", generator.ModelId))).Job.Id);
        using var started = new MetricCollector<long>(meters, "MediaGen", "mediagen.job.started");
        using var hits = new MetricCollector<long>(meters, "MediaGen", "mediagen.cache.hit");
        var queue = host.Services.GetRequiredService<IJobQueue>();
        var depthBefore = await queue.GetDepthAsync();

        var hit = (await client.SubmitAsync(Request("bob", generator.ModelId))).Job;

        Assert.True(hit.CacheHit);
        Assert.Equal(depthBefore, await queue.GetDepthAsync());
        Assert.Equal(1, hits.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Empty(started.GetMeasurementSnapshot());
        Assert.Equal(1, generator.Calls);
        await host.StopAsync();
    }

    [Fact]
    public async Task FinishCached_SecondFinisherFromTheSameRead_AddsNoSecondSucceededEvent()
    {
        // A hit's last commit can be made twice from the same read of its job: by a submission that stalled after writing
        // it, and by the sweeper that took it for one a crash left. Only one may publish Succeeded.
        var (host, generator, _) = await StartWithOriginalAsync();
        using var started = host;
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var hit = (await client.SubmitAsync(Request("bob", generator.ModelId))).Job;
        Assert.True(hit.CacheHit);
        var asWritten = await host.Services.GetRequiredService<IJobStore>().GetAsync(hit.Id);
        Assert.Equal(hit, asWritten);

        // The read both finishers started from: the job as its submission created it, one version before its last commit.
        var beforeTheCommit = hit with { Version = hit.Version - 1, UpdatedAt = hit.CreatedAt };
        Assert.Null(await host.Services.GetRequiredService<JobLifecycle>().FinishCachedAsync(beforeTheCommit, CancellationToken.None));

        var history = await host.Services.GetRequiredService<IJobEventStream>().GetHistoryAsync(hit.Id, 0);
        Assert.Single(history, e => e.Type == JobEventType.Succeeded);
        Assert.Equal(hit, await host.Services.GetRequiredService<IJobStore>().GetAsync(hit.Id));
        Assert.Equal(100, await host.Services.GetRequiredService<ICreditLedger>().GetBalanceAsync("bob"));
        await host.StopAsync();
    }

    /// <summary>Starts a host whose generator made one job for alice, recorded in the index.</summary>
    private async Task<(IHost Host, ScriptedGenerator Generator, GenerationJob Original)> StartWithOriginalAsync()
    {
        var generator = new ScriptedGenerator("plain", (_, _) => ValueTask.FromResult(ScriptedGenerator.TextOutputs("one", "two")));
        var host = StartHost(generator);
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        return (host, generator, await host.Services.WaitForTerminalAsync("alice", (await client.SubmitAsync(Request("alice", generator.ModelId))).Job.Id));
    }

    private IHost StartHost(ScriptedGenerator generator, Action<IMediaGenerationBuilder>? configure = null) =>
        Host.CreateDefaultBuilder().ConfigureServices(services =>
        {
            services.Configure<FileSystemStorageOptions>(o => o.RootPath = _root.FullName);
            var builder = services.AddMediaGeneration()
                .ConfigureCredits(o => o.InitialBalance = 100)
                .ConfigureResultCache(o => o.Models.Add(generator.ModelId))
                .AddGenerator(generator);
            configure?.Invoke(builder);
            builder.AddWorker();
        }).Build();

    private static GenerationRequest Request(string owner, string model = "plain-model") => new()
    {
        Prompt = "a fox in the snow",
        Model = model,
        OwnerId = owner,
        Settings = new GenerationSettings { OutputCount = 2, Seed = 7 },
    };

    private static Dictionary<string, JsonElement> Parameters(string json) =>
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json)!;

    /// <summary>File-system storage whose reads of one key fail as an unreachable store would.</summary>
    private sealed class FaultyStorage(IMediaStorage inner) : IMediaStorage
    {
        public string? FailReadsOf { get; set; }

        /// <summary>Called before each read, with the key read.</summary>
        public Action<string>? BeforeRead { get; set; }

        public ValueTask<StoredObject> SaveAsync(string key, Stream content, StorageWriteOptions options, CancellationToken cancellationToken = default) =>
            inner.SaveAsync(key, content, options, cancellationToken);

        public ValueTask<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default)
        {
            BeforeRead?.Invoke(key);
            return string.Equals(key, FailReadsOf, StringComparison.Ordinal)
                ? throw new StorageUnavailableException("The store cannot be reached.")
                : inner.OpenReadAsync(key, cancellationToken);
        }

        public ValueTask<StoredObject?> GetInfoAsync(string key, CancellationToken cancellationToken = default) => inner.GetInfoAsync(key, cancellationToken);

        public ValueTask<bool> DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);

        public ValueTask<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default) => inner.DeletePrefixAsync(prefix, cancellationToken);

        public ValueTask<Uri> GetReadUrlAsync(string key, TimeSpan? lifetime = null, CancellationToken cancellationToken = default) => inner.GetReadUrlAsync(key, lifetime, cancellationToken);
    }
}
