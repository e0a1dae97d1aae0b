using StackExchange.Redis.Profiling;

namespace MediaGen.Queue.Redis.Tests;

public sealed class RedisJobLifecycleStoreTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
    private readonly string _prefix = RedisTestServer.NewPrefix();
    private ConnectionMultiplexer? _multiplexer;
    private RedisJobLifecycleStore _lifecycle = null!;
    private RedisJobStore _store = null!;
    private RedisCreditLedger _ledger = null!;
    private RedisJobQueue _queue = null!;
    private RedisJobEventStream _events = null!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_multiplexer is not null)
        {
            await _multiplexer.DisposeAsync();
        }
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task SubmitAsync_NewJob_CreatesReservesEnqueuesAndPublishesInOneStep()
    {
        await CreateAsync(initialBalance: 10);
        var job = NewJob("job-1");
        await using var events = await _events.OpenSubscriptionAsync(job.Id);
        var next = events.MoveNextAsync().AsTask();

        var result = await _lifecycle.SubmitAsync(Submission(job, credits: 3));

        Assert.True(result.Created);
        Assert.Equal((1L, JobStatus.Pending), (result.Job.Version, result.Job.Status));
        Assert.Equal(1L, (await _store.GetAsync(job.Id))!.Version);
        Assert.Equal(7, await _ledger.GetBalanceAsync("owner"));
        Assert.Equal(3, Assert.Single(await _ledger.ListOpenReservationsAsync(_time.GetUtcNow().AddSeconds(1), 10)).Amount);
        var lease = Assert.Single(await _queue.ReceiveAsync(1, TimeSpan.Zero));
        Assert.Equal(job.Id, lease.Message.JobId);
        Assert.True(await next);
        Assert.Equal(JobEventType.Queued, events.Current.Type);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ReceiveAsync_MessageWithoutItsJob_LeaseCarriesNoJob()
    {
        await CreateAsync(initialBalance: 10);
        await _queue.EnqueueAsync(new QueueMessage("no-such-job"));

        var lease = await ReceiveCarryingAsync(_queue);

        Assert.Equal(("no-such-job", null), (lease.Message.JobId, lease.Job));
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task ReceiveAsync_QueueWithoutTheLifecycleStore_LeaseCarriesNoJob()
    {
        await CreateAsync(initialBalance: 10);
        await _lifecycle.SubmitAsync(Submission(NewJob("job-1"), credits: 3));
        var (connection, multiplexer) = await RedisTestServer.ConnectAsync();
        await using var owned = multiplexer;
        var queueAlone = RedisTestServer.Queue(connection, RedisTestServer.Options(_prefix, TimeSpan.FromSeconds(30)), _time);

        var lease = await ReceiveCarryingAsync(queueAlone);

        Assert.Equal(("job-1", null), (lease.Message.JobId, lease.Job));
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task SubmitAsync_Event_IsKeptInTheJobsHistoryUntilItsRetentionOrTheJobsDeletion()
    {
        await CreateAsync(initialBalance: 10);
        var job = NewJob("job-1");

        await _lifecycle.SubmitAsync(Submission(job, credits: 3));

        var kept = Assert.Single(await _events.GetHistoryAsync(job.Id, 0));
        Assert.Equal((1L, JobEventType.Queued), (kept.Sequence, kept.Type));
        var history = new RedisKeys(_prefix, "jobs").EventChannel(job.Id);
        var ttl = await _multiplexer!.GetDatabase().KeyTimeToLiveAsync(history);
        Assert.InRange(ttl!.Value, TimeSpan.FromHours(23), TimeSpan.FromDays(1));
        Assert.True(await _store.DeleteAsync(job.Id));
        Assert.False(await _multiplexer.GetDatabase().KeyExistsAsync(history));
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task CommitAsync_AfterTheJobsHistoryExpired_NumbersItsEventsOnFromTheJob()
    {
        await CreateAsync(initialBalance: 10);
        var job = (await _lifecycle.SubmitAsync(Submission(NewJob("job-1"), credits: 3))).Job;
        var started = job with { Status = JobStatus.Processing, Version = 2 };
        Assert.True(await _lifecycle.CommitAsync(Commit(job, started) with { Event = Event(started, JobEventType.Started) }));
        await _events.PublishAsync(Event(started, JobEventType.Progress));

        // A silent job's history expires; the job keeps its count, so a reconnecting reader never sees a number again.
        Assert.True(await _multiplexer!.GetDatabase().KeyDeleteAsync(new RedisKeys(_prefix, "jobs").EventChannel(job.Id)));
        var done = started with { Status = JobStatus.Succeeded, Version = 3 };
        Assert.True(await _lifecycle.CommitAsync(Commit(started, done) with { Event = Event(done, JobEventType.Succeeded) }));
        await _events.PublishAsync(Event(done, JobEventType.Progress));

        Assert.Equal([4L, 5L], (await _events.GetHistoryAsync(job.Id, 0)).Select(e => e.Sequence));
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task PublishAsync_IdWithoutAJob_NumbersFromItsHistoryAndLeavesNoJobBehind()
    {
        await CreateAsync(initialBalance: 10);
        var stray = NewJob("no-such-job");

        await _events.PublishAsync(Event(stray, JobEventType.Progress));
        await _events.PublishAsync(Event(stray, JobEventType.Progress));

        Assert.Equal([1L, 2L], (await _events.GetHistoryAsync(stray.Id, 0)).Select(e => e.Sequence));
        Assert.Null(await _store.GetAsync(stray.Id));
        Assert.DoesNotContain(await KeysAsync(), key => key.EndsWith(":job:no-such-job", StringComparison.Ordinal));
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task CommitAsync_ScriptsFlushedFromTheServer_SendsTheirTextAgainAndApplies()
    {
        await CreateAsync(initialBalance: 10);
        var (job, lease) = await SubmitAndReceiveAsync("job-1", credits: 3);

        // Scripts are called by digest; a server that lost its script cache (a restart, SCRIPT FLUSH) answers NOSCRIPT.
        await _multiplexer!.GetDatabase().ExecuteAsync("SCRIPT", "FLUSH");
        var done = job with { Status = JobStatus.Succeeded, Version = 2 };
        var applied = await _lifecycle.CommitAsync(Commit(job, done) with
        {
            Settlement = 0,
            Lease = new LeaseSettlement(lease, LeaseAction.Complete),
            Event = Event(done, JobEventType.Succeeded),
        });

        Assert.True(applied);
        Assert.Equal(JobStatus.Succeeded, (await _store.GetAsync(job.Id))!.Status);
        Assert.Equal([1L, 2L], (await _events.GetHistoryAsync(job.Id, 0)).Select(e => e.Sequence));
        Assert.Empty(await _queue.ReceiveAsync(1, TimeSpan.Zero));
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task SubmitAsync_InsufficientCredits_ThrowsAndWritesNothing()
    {
        await CreateAsync(initialBalance: 2);
        await _ledger.GrantAsync("owner", 1);
        var before = await KeysAsync();

        var error = await Assert.ThrowsAsync<InsufficientCreditsException>(() => _lifecycle.SubmitAsync(Submission(NewJob("job-1"), credits: 5)).AsTask());

        Assert.Equal((5L, 3L), (error.Requested, error.Available));
        Assert.Equal(before, await KeysAsync());
        Assert.Null(await _store.GetAsync("job-1"));
        Assert.Equal(3, await _ledger.GetBalanceAsync("owner"));
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task SubmitAsync_SameIdempotencyKey_ReturnsTheFirstJobAndChargesOnce()
    {
        await CreateAsync(initialBalance: 10);
        var first = NewJob("job-1", idempotencyKey: "k");
        await _lifecycle.SubmitAsync(Submission(first, credits: 4));

        var again = await _lifecycle.SubmitAsync(Submission(NewJob("job-2", idempotencyKey: "k"), credits: 4));

        Assert.False(again.Created);
        Assert.Equal("job-1", again.Job.Id);
        Assert.Equal(6, await _ledger.GetBalanceAsync("owner"));
        Assert.Equal(new QueueDepth(1, 0, 0, 0), await _queue.GetDepthAsync());
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task CommitAsync_Succeed_WritesSettlesCompletesTheLeaseAndPublishes()
    {
        await CreateAsync(initialBalance: 10);
        var (job, lease) = await SubmitAndReceiveAsync("job-1", credits: 4);
        await using var events = await _events.OpenSubscriptionAsync(job.Id);
        var next = events.MoveNextAsync().AsTask();

        var applied = await _lifecycle.CommitAsync(Commit(job, job with { Status = JobStatus.Processing, Version = 2 }) with
        {
            Settlement = 1,
            Lease = new LeaseSettlement(lease, LeaseAction.Complete),
            Event = Event(job, JobEventType.Succeeded),
        });

        Assert.True(applied);
        Assert.Equal((2L, JobStatus.Processing), ((await _store.GetAsync(job.Id))!.Version, (await _store.GetAsync(job.Id))!.Status));
        Assert.Equal(7, await _ledger.GetBalanceAsync("owner"));
        Assert.Empty(await _ledger.ListOpenReservationsAsync(_time.GetUtcNow().AddSeconds(1), 10));
        Assert.Equal(new QueueDepth(0, 0, 0, 0), await _queue.GetDepthAsync());
        await Assert.ThrowsAsync<LeaseLostException>(() => lease.CompleteAsync().AsTask());
        Assert.True(await next);
        Assert.Equal(JobEventType.Succeeded, events.Current.Type);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task CommitAsync_VersionDiffers_AppliesNothing()
    {
        await CreateAsync(initialBalance: 10);
        var (job, lease) = await SubmitAndReceiveAsync("job-1", credits: 4);

        var applied = await _lifecycle.CommitAsync(new JobCommit
        {
            JobId = job.Id,
            OwnerId = job.OwnerId,
            Job = job with { Status = JobStatus.Processing, Version = 6 },
            ExpectedVersion = 5,
            Settlement = 4,
            Enqueue = new QueueMessage("other"),
            Lease = new LeaseSettlement(lease, LeaseAction.DeadLetter) { Reason = "x" },
        });

        Assert.False(applied);
        Assert.Equal((1L, JobStatus.Pending), ((await _store.GetAsync(job.Id))!.Version, (await _store.GetAsync(job.Id))!.Status));
        Assert.Equal(6, await _ledger.GetBalanceAsync("owner"));
        Assert.Equal(new QueueDepth(0, 0, 1, 0), await _queue.GetDepthAsync());

        // The lease is still the caller's to settle.
        await lease.CompleteAsync();
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task CommitAsync_LeaseExpired_AppliesTheRestAndSkipsTheLease()
    {
        await CreateAsync(initialBalance: 10);
        var (job, lease) = await SubmitAndReceiveAsync("job-1", credits: 4);
        _time.Advance(TimeSpan.FromMinutes(1));
        var redelivered = Assert.Single(await _queue.ReceiveAsync(1, TimeSpan.Zero));

        var applied = await _lifecycle.CommitAsync(Commit(job, job with { Status = JobStatus.Processing, Version = 2 }) with
        {
            Lease = new LeaseSettlement(lease, LeaseAction.Complete),
        });

        Assert.True(applied);
        Assert.Equal(JobStatus.Processing, (await _store.GetAsync(job.Id))!.Status);
        Assert.Equal(new QueueDepth(0, 0, 1, 0), await _queue.GetDepthAsync());
        await redelivered.CompleteAsync();
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task CommitAsync_AbandonWithDelayAndDeadLetter_SettleTheLeaseInTheScript()
    {
        await CreateAsync(initialBalance: 10);
        var (first, firstLease) = await SubmitAndReceiveAsync("job-1", credits: 1);
        var (second, secondLease) = await SubmitAndReceiveAsync("job-2", credits: 1);

        Assert.True(await _lifecycle.CommitAsync(Commit(first, null) with { Lease = new LeaseSettlement(firstLease, LeaseAction.Abandon) { Delay = TimeSpan.FromSeconds(5) } }));
        Assert.True(await _lifecycle.CommitAsync(Commit(second, null) with { Lease = new LeaseSettlement(secondLease, LeaseAction.DeadLetter) { Reason = "generator_failed", Description = "boom" } }));

        Assert.Equal(new QueueDepth(0, 1, 0, 1), await _queue.GetDepthAsync());
        var dead = Assert.Single(await _queue.ListDeadLettersAsync());
        Assert.Equal(("job-2", "generator_failed", "boom"), (dead.Message.MessageId, dead.Reason, dead.Description));
        _time.Advance(TimeSpan.FromSeconds(5));
        var again = Assert.Single(await _queue.ReceiveAsync(1, TimeSpan.Zero));
        Assert.Equal(("job-1", 2), (again.Message.MessageId, again.DeliveryCount));
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task CommitAsync_EnqueueWithDelay_SchedulesTheMessage()
    {
        await CreateAsync(initialBalance: 10);
        var (job, lease) = await SubmitAndReceiveAsync("job-1", credits: 1);
        await lease.CompleteAsync();

        Assert.True(await _lifecycle.CommitAsync(Commit(job, null) with { Enqueue = new QueueMessage(job.Id), EnqueueOptions = new EnqueueOptions { Delay = TimeSpan.FromSeconds(2) } }));

        Assert.Equal(new QueueDepth(0, 1, 0, 0), await _queue.GetDepthAsync());
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task CommitAsync_ForeignLease_IsSettledThroughItsOwnMethodsAfterTheScript()
    {
        await CreateAsync(initialBalance: 10);
        var job = (await _lifecycle.SubmitAsync(Submission(NewJob("job-1"), credits: 1))).Job;
        var foreign = new RecordingLease(new QueueMessage(job.Id));

        Assert.True(await _lifecycle.CommitAsync(Commit(job, job with { Status = JobStatus.Processing, Version = 2 }) with { Lease = new LeaseSettlement(foreign, LeaseAction.Abandon) { Delay = TimeSpan.FromSeconds(3) } }));

        Assert.Equal(["abandon 00:00:03"], foreign.Calls);
        Assert.Equal(new QueueDepth(1, 0, 0, 0), await _queue.GetDepthAsync());
    }

    // The scripts spell a run's reservation member from the owner and run rather than keep it on the job; the client
    // counts the owner's length in UTF-16 units, Lua in bytes, hence the non-ASCII owners (2-, 3- and 4-byte characters).
    public static TheoryData<string> Owners => ["owner", "ówner-ü✓", "\U0001F600-owner"];

    [ServerTheory(RedisTestServer.Variable)]
    [MemberData(nameof(Owners))]
    public async Task Retention_FinishedJob_LeavesNoKeyBehind(string owner)
    {
        await CreateAsync(initialBalance: 10, retention: TimeSpan.FromMinutes(1));
        await _ledger.GrantAsync(owner, 1);
        // Another job, still running, so the shared keys (indexes, counters, the leased set) exist before and after.
        await SubmitAndReceiveAsync("seed", credits: 1, owner: owner);
        var baseline = await KeysAsync();
        var (job, lease) = await SubmitAndReceiveAsync("job-1", credits: 4, idempotencyKey: "k", owner: owner);

        // The job's JSON is a key of its own, and the hash keeps only short fields: Redis keeps it as a compact listpack.
        var db = _multiplexer!.GetDatabase();
        var hash = "{" + _prefix + "}:job:job-1";
        Assert.Equal("listpack", (string?)await db.ExecuteAsync("OBJECT", "ENCODING", hash));
        Assert.Equal(["e", "k", "o", "q", "s", "v"], (await db.HashKeysAsync(hash)).Select(k => (string)k!).Order(StringComparer.Ordinal));
        Assert.StartsWith("{\"id\":\"job-1\",", (string?)await db.StringGetAsync("{" + _prefix + "}:data:job-1"), StringComparison.Ordinal);
        var running = job with { Status = JobStatus.Processing, Version = 2 };
        Assert.True(await _lifecycle.CommitAsync(Commit(job, running) with { Lease = new LeaseSettlement(lease, LeaseAction.Keep) }));
        Assert.True(await _lifecycle.CommitAsync(Commit(running, running with { Status = JobStatus.Failed, Version = 3 }) with
        {
            Settlement = 4,
            Lease = new LeaseSettlement(lease, LeaseAction.DeadLetter) { Reason = "failed" },
        }));
        Assert.NotEqual(baseline, await KeysAsync());

        _time.Advance(TimeSpan.FromMinutes(2));
        await _store.CreateAsync(NewJob("later", owner: owner));
        await _store.DeleteAsync("later");

        // The job, its indexes, idempotency key, dead letter and settled reservation all go with it, without waiting for
        // Redis to get round to expiring the reservation.
        Assert.Equal(baseline, await KeysAsync());
        Assert.Empty(await _queue.ListDeadLettersAsync());
        Assert.Equal("seed", Assert.Single(await _ledger.ListOpenReservationsAsync(_time.GetUtcNow(), 10)).JobId);
    }

    // A second run has its own reservation (member and key named by the run id); removing the job finds it too.
    [ServerTheory(RedisTestServer.Variable)]
    [MemberData(nameof(Owners))]
    public async Task Retention_JobFailedTwiceOverTwoRuns_LeavesNoKeyBehind(string owner)
    {
        await CreateAsync(initialBalance: 10, retention: TimeSpan.FromMinutes(1));
        await SubmitAndReceiveAsync("seed", credits: 1, owner: owner);
        var baseline = await KeysAsync();
        var (job, lease) = await SubmitAndReceiveAsync("job-1", credits: 4, owner: owner);
        var failed = job with { Status = JobStatus.Failed, Version = 2 };
        Assert.True(await _lifecycle.CommitAsync(Commit(job, failed) with { Settlement = 4, Lease = new LeaseSettlement(lease, LeaseAction.Complete) }));
        var rerun = failed with { Status = JobStatus.Pending, Run = 2, Version = 3 };
        Assert.True(await _lifecycle.CommitAsync(Commit(failed, rerun) with
        {
            Run = 2,
            Reserve = 4,
            Enqueue = new QueueMessage(rerun.Id) { MessageId = rerun.RunId },
        }));
        Assert.Equal(10 - 1 - 4, await _ledger.GetBalanceAsync(owner));
        var second = Assert.Single(await _queue.ReceiveAsync(1, TimeSpan.Zero));
        Assert.Equal(rerun.RunId, second.Message.MessageId);
        Assert.True(await _lifecycle.CommitAsync(Commit(rerun, rerun with { Status = JobStatus.Failed, Version = 4 }) with
        {
            Run = 2,
            Settlement = 4,
            Lease = new LeaseSettlement(second, LeaseAction.Complete),
        }));
        Assert.Equal(10 - 1, await _ledger.GetBalanceAsync(owner));

        _time.Advance(TimeSpan.FromMinutes(2));
        await _store.CreateAsync(NewJob("later", owner: owner));
        await _store.DeleteAsync("later");

        var after = await KeysAsync();
        Assert.Empty(after.Except(baseline));
        Assert.Empty(baseline.Except(after));
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task Update_FinishedJobRunAgain_IsNoLongerRemovedByRetention()
    {
        await CreateAsync(initialBalance: 10, retention: TimeSpan.FromMinutes(1));
        var job = (await _store.CreateAsync(NewJob("job-1"))).Job;
        var failed = (await _store.UpdateAsync(job with { Status = JobStatus.Failed }, 1))!;
        var pending = (await _store.UpdateAsync(failed with { Status = JobStatus.Pending }, 2))!;

        _time.Advance(TimeSpan.FromMinutes(2));
        await _store.CreateAsync(NewJob("later"));

        Assert.Equal(JobStatus.Pending, (await _store.GetAsync(pending.Id))!.Status);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task SubmitAndCommit_ManyAtOnce_GoTogetherAndEachStepStandsAlone()
    {
        await CreateAsync(initialBalance: 1_000);
        var jobs = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
            (await _lifecycle.SubmitAsync(Submission(NewJob("job-" + i.ToString(CultureInfo.InvariantCulture)), credits: 2))).Job));

        // One job's record is not a hash any more: its step fails on the server, and only its step.
        await _multiplexer!.GetDatabase().StringSetAsync(new RedisKeys(_prefix, "jobs").Root + "job:job-7", "not a job");
        var profiling = new ProfilingSession();
        _multiplexer.RegisterProfiler(() => profiling);
        var commits = jobs.Select(job => (job.Id, Commit: _lifecycle.CommitAsync(Commit(job, job with { Status = JobStatus.Failed }) with
        {
            Settlement = 2,
            Event = Event(job, JobEventType.Failed),
        }).AsTask())).ToList();
        var broken = await Assert.ThrowsAsync<RedisServerException>(() => commits.Single(c => c.Id == "job-7").Commit);
        await Task.WhenAll(commits.Where(c => c.Id != "job-7").Select(c => c.Commit));

        // Steps taken while a call is in flight share the next one: far fewer script calls than steps.
        Assert.InRange(profiling.FinishProfiling().Count(c => c.Command is "EVAL" or "EVALSHA"), 1, 24);
        Assert.Contains("job-7", broken.Message, StringComparison.Ordinal);
        foreach (var (id, commit) in commits.Where(c => c.Id != "job-7"))
        {
            Assert.True(await commit);
            Assert.Equal(JobStatus.Failed, (await _store.GetAsync(id))!.Status);
        }

        // Every refund but the broken job's was applied once; its reservation is still open for the sweeper.
        Assert.Equal(1_000 - 2, await _ledger.GetBalanceAsync("owner"));
        Assert.Equal("job-7", Assert.Single(await _ledger.ListOpenReservationsAsync(_time.GetUtcNow().AddSeconds(1), 100)).JobId);
    }

    private async Task CreateAsync(long initialBalance, TimeSpan? retention = null)
    {
        var (connection, multiplexer) = await RedisTestServer.ConnectAsync();
        _multiplexer = multiplexer;
        var options = RedisTestServer.Options(_prefix, TimeSpan.FromSeconds(30), o => o.FinishedJobRetention = retention ?? o.FinishedJobRetention);
        _store = new RedisJobStore(connection, options, _time);
        _ledger = new RedisCreditLedger(connection, options, () => initialBalance, _time);
        _queue = RedisTestServer.Queue(connection, options, _time);
        _events = new RedisJobEventStream(connection, options, NullLogger<RedisJobEventStream>.Instance);
        _lifecycle = new RedisJobLifecycleStore(connection, _queue, _ledger, _events, options, _time, NullLogger.Instance);
    }

    private static async Task<IJobCarryingLease> ReceiveCarryingAsync(RedisJobQueue queue) =>
        Assert.IsAssignableFrom<IJobCarryingLease>(Assert.Single(await queue.ReceiveAsync(1, TimeSpan.Zero)));

    private async Task<(GenerationJob Job, IQueueLease Lease)> SubmitAndReceiveAsync(string id, long credits, string? idempotencyKey = null, string owner = "owner")
    {
        var job = (await _lifecycle.SubmitAsync(Submission(NewJob(id, idempotencyKey, owner), credits))).Job;
        var lease = Assert.Single(await _queue.ReceiveAsync(1, TimeSpan.Zero));
        Assert.Equal(id, lease.Message.JobId);
        return (job, lease);
    }

    // Pub/sub delivers only to subscribers the server already knows; wait until it counts this one.
    private async Task<HashSet<string>> KeysAsync()
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var key in _multiplexer!.GetServers()[0].KeysAsync(pattern: "{" + _prefix + "}:*"))
        {
            keys.Add(key.ToString());
        }

        return keys;
    }

    private GenerationJob NewJob(string id, string? idempotencyKey = null, string owner = "owner") => new()
    {
        Id = id,
        Request = new GenerationRequest { Prompt = "a cat", Model = "model", OwnerId = owner, IdempotencyKey = idempotencyKey },
        CreatedAt = _time.GetUtcNow(),
    };

    private static JobSubmission Submission(GenerationJob job, long credits) => new()
    {
        Job = job,
        Credits = credits,
        Message = new QueueMessage(job.Id),
        Event = Event(job, JobEventType.Queued),
    };

    private static JobCommit Commit(GenerationJob current, GenerationJob? next) => new()
    {
        JobId = current.Id,
        OwnerId = current.OwnerId,
        Job = next,
        ExpectedVersion = current.Version,
    };

    private static JobEvent Event(GenerationJob job, JobEventType type) =>
        new() { JobId = job.Id, OwnerId = job.OwnerId, Type = type, Timestamp = job.CreatedAt, Status = job.Status };
}
