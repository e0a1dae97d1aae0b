namespace MediaGen.Queue.Redis.Tests;

public sealed class RedisJobStoreTests : RedisClientTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));

    [ServerFact(RedisTestServer.Variable)]
    public async Task CreateAsync_RoundTripsEveryField()
    {
        var store = await CreateStoreAsync();
        var job = NewJob("owner") with
        {
            Request = NewJob("owner").Request with
            {
                Parameters = new Dictionary<string, JsonElement> { ["guidance"] = JsonDocument.Parse("3.5").RootElement, ["style"] = JsonDocument.Parse("\"film\"").RootElement },
                Settings = new GenerationSettings { Width = 512, Height = 768, OutputFormat = OutputFormat.Webp, Seed = 42 },
                WebhookUrl = new Uri("https://example.test/hook"),
            },
            Outputs = [new JobOutput { Index = 0, Key = "k/0.webp", ContentType = "image/webp", Url = new Uri("https://example.test/0"), Size = 10, Width = 512, Height = 768 }],
            Error = new JobError("generator_transient", "boom", Retryable: true),
        };

        var created = await store.CreateAsync(job);
        var read = await store.GetAsync(job.Id);

        Assert.True(created.Created);
        Assert.NotNull(read);
        Assert.Equal(1, read.Version);
        Assert.True(read.Request.IsSameWorkAs(job.Request));
        Assert.Equal(job.Outputs, read.Outputs);
        Assert.Equal(job.Error, read.Error);
        Assert.Equal(job.CreatedAt, read.CreatedAt);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task GetAsync_ManyAtOnce_EachGetsItsOwnJobOrNull()
    {
        var store = await CreateStoreAsync();
        var created = new List<GenerationJob>();
        for (var i = 0; i < 10; i++)
        {
            created.Add((await store.CreateAsync(NewJob("owner-" + i.ToString(CultureInfo.InvariantCulture)))).Job);
        }

        // Reads taken while one is in flight go out together; each still answers for its own id, in any mix.
        var ids = created.Select(j => j.Id).SelectMany(id => new[] { id, id + "-missing" }).ToList();
        var found = await Task.WhenAll(ids.Select(id => store.GetAsync(id).AsTask()));

        for (var i = 0; i < ids.Count; i++)
        {
            Assert.Equal(i % 2 == 0 ? ids[i] : null, found[i]?.Id);
        }

        Assert.Equal(created.Select(j => j.OwnerId), found.Where(j => j is not null).Select(j => j!.OwnerId));
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task CreateAsync_SameIdempotencyKeyFromTwoClients_CreatesOnce()
    {
        var store = await CreateStoreAsync();
        var peer = await CreateStoreAsync();
        var jobs = Enumerable.Range(0, 20).Select(i => NewJob(i % 2 == 0 ? "a" : "b", "key-1")).ToList();

        var results = await Task.WhenAll(jobs.Select((j, i) => (i % 4 < 2 ? store : peer).CreateAsync(j).AsTask()));

        Assert.Equal(2, results.Count(r => r.Created));
        Assert.Single(results.Where(r => r.Job.OwnerId == "a").Select(r => r.Job.Id).Distinct());
        Assert.Single(results.Where(r => r.Job.OwnerId == "b").Select(r => r.Job.Id).Distinct());
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task UpdateAsync_StaleVersion_ReturnsNull()
    {
        var store = await CreateStoreAsync();
        var job = (await store.CreateAsync(NewJob("owner"))).Job;

        var updated = await store.UpdateAsync(job with { Status = JobStatus.Processing }, 1);
        var stale = await store.UpdateAsync(job with { Status = JobStatus.Canceled }, 1);

        Assert.Equal(2, updated?.Version);
        Assert.Null(stale);
        Assert.Equal(JobStatus.Processing, (await store.GetAsync(job.Id))?.Status);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ListAsync_ByStatusWithCursor_PagesNewestFirst()
    {
        var store = await CreateStoreAsync();
        var ids = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            var job = (await store.CreateAsync(NewJob("owner"))).Job;
            ids.Add(job.Id);
            if (i % 2 == 1)
            {
                await store.UpdateAsync(job with { Status = JobStatus.Processing }, 1);
            }
        }

        await store.CreateAsync(NewJob("someone-else"));
        var pending = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await store.ListAsync(new JobQuery { OwnerId = "owner", Status = JobStatus.Pending, Limit = 2, Cursor = cursor });
            pending.AddRange(page.Items.Select(j => j.Id));
            cursor = page.NextCursor;
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(2, pages);
        Assert.Equal(new[] { ids[6], ids[4], ids[2], ids[0] }, pending);
        Assert.Equal(7, (await store.ListAsync(new JobQuery { OwnerId = "owner", Limit = 200 })).Items.Count);
        await Assert.ThrowsAsync<RequestValidationException>(() => store.ListAsync(new JobQuery { OwnerId = "owner", Cursor = "not-a-cursor" }).AsTask());
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ListStaleAsync_ReturnsOnlyOldJobsInTheStatus()
    {
        var store = await CreateStoreAsync();
        var old = (await store.CreateAsync(NewJob("owner"))).Job;
        _time.Advance(TimeSpan.FromMinutes(5));
        await store.CreateAsync(NewJob("owner"));

        var stale = await store.ListStaleAsync(JobStatus.Pending, _time.GetUtcNow() - TimeSpan.FromMinutes(1), 10);

        Assert.Equal(old.Id, Assert.Single(stale).Id);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task UpdateAsync_Finished_RemovedAfterRetention()
    {
        var store = await CreateStoreAsync(TimeSpan.FromHours(1));
        var job = (await store.CreateAsync(NewJob("owner", "key"))).Job;
        await store.UpdateAsync(job with { Status = JobStatus.Processing }, 1);
        await store.UpdateAsync(job with { Status = JobStatus.Succeeded, UpdatedAt = _time.GetUtcNow() }, 2);

        _time.Advance(TimeSpan.FromHours(1));
        var next = await store.CreateAsync(NewJob("owner"));

        Assert.True(next.Created);
        Assert.Null(await store.GetAsync(job.Id));
        Assert.Single((await store.ListAsync(new JobQuery { OwnerId = "owner" })).Items);
        Assert.True((await store.CreateAsync(NewJob("owner", "key"))).Created);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task DeleteAsync_FreesTheIdempotencyKey()
    {
        var store = await CreateStoreAsync();
        var job = (await store.CreateAsync(NewJob("owner", "key"))).Job;

        Assert.True(await store.DeleteAsync(job.Id));
        Assert.False(await store.DeleteAsync(job.Id));
        Assert.True((await store.CreateAsync(NewJob("owner", "key"))).Created);
        Assert.Single((await store.ListAsync(new JobQuery { OwnerId = "owner" })).Items);
    }

    private GenerationJob NewJob(string owner, string? idempotencyKey = null) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        Request = new GenerationRequest { Prompt = "a lighthouse at dusk", Model = "test-model", OwnerId = owner, IdempotencyKey = idempotencyKey },
        CreatedAt = _time.GetUtcNow(),
    };

    private async Task<RedisJobStore> CreateStoreAsync(TimeSpan? retention = null)
    {
        var connection = await ConnectAsync();
        return new RedisJobStore(connection, RedisTestServer.Options(Prefix, configure: o => o.FinishedJobRetention = retention ?? TimeSpan.FromDays(7)), _time);
    }
}
