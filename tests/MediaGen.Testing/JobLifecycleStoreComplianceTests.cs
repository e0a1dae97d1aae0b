namespace MediaGen.Testing;

/// <summary>
/// The <see cref="IJobLifecycleStore"/> contract, written once: a step applies every one of its effects (job write,
/// credit settlement, enqueue, lease settlement, event) or, when the job changed since it was read, none of them. Every
/// backend that offers atomic steps derives a class from this one; the composed store that MediaGen builds from separate
/// seams passes it too.
/// </summary>
public abstract class JobLifecycleStoreComplianceTests : ComplianceTestBase
{
    /// <summary>The lease duration the backend's queue must use.</summary>
    protected static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Creates a fresh, isolated backend whose clock is <see cref="ComplianceTestBase.Time"/>, whose queue leases last
    /// <see cref="LeaseDuration"/>, and in which an owner never seen has <paramref name="initialBalance"/> credits.
    /// </summary>
    /// <param name="initialBalance">The balance of an unseen owner.</param>
    /// <returns>The lifecycle store and the four seams it applies steps to.</returns>
    protected abstract ValueTask<LifecycleBackend> CreateBackendAsync(long initialBalance);

    /// <summary>
    /// Whether one backend owns every seam, so a step is all or nothing. The composed store is not: a step that reserves
    /// credits reserves before it writes the job, and leaves the reservation of a run that was never written to the sweeper.
    /// </summary>
    protected virtual bool IsAtomic => true;

    /// <summary>
    /// Whether the backend's queue reads each leased message's job in the receive itself and hands it over with the lease
    /// (<see cref="IJobCarryingLease"/>), so the worker needs no second read.
    /// </summary>
    protected virtual bool LeasesCarryTheirJob => false;

    [ComplianceFact]
    public async Task ReceiveAsync_AfterSubmit_LeaseCarriesTheStoredJobOnceWhereTheBackendReadsIt()
    {
        var backend = await NewBackendAsync(100);
        var job = NewJob("owner-a");
        await backend.Lifecycle.SubmitAsync(Submission(job, credits: 10));
        var stored = (await backend.Store.GetAsync(job.Id))!;

        var lease = Assert.Single(await backend.Queue.ReceiveAsync(1, TimeSpan.Zero));

        var carried = (lease as IJobCarryingLease)?.Job;
        if (!LeasesCarryTheirJob)
        {
            Assert.Null(carried);
            return;
        }

        Assert.NotNull(carried);
        Assert.Equal((stored.Id, stored.Version, stored.Status, stored.OwnerId), (carried.Id, carried.Version, carried.Status, carried.OwnerId));
        Assert.Null(((IJobCarryingLease)lease).Job);
    }

    [ComplianceFact]
    public async Task SubmitAsync_NewJob_CreatesReservesEnqueuesAndPublishes()
    {
        var backend = await NewBackendAsync(100);
        var job = NewJob("owner-a");
        await using var events = await EventSubscription.OpenLiveAsync(backend.Events, backend.Events, job.Id, RealTimeout);

        var result = await backend.Lifecycle.SubmitAsync(Submission(job, credits: 30));

        Assert.True(result.Created);
        Assert.Equal(1, result.Job.Version);
        Assert.Equal(JobStatus.Pending, (await backend.Store.GetAsync(job.Id))!.Status);
        Assert.Equal(70, await backend.Ledger.GetBalanceAsync("owner-a"));
        var lease = await ReceiveOneAsync(backend.Queue);
        Assert.Equal(job.Id, lease.Message.JobId);
        Assert.Equal(JobEventType.Queued, (await events.NextAsync(1))[0].Type);
        await lease.CompleteAsync();
    }

    [ComplianceFact]
    public async Task SubmitAsync_SameIdempotencyKey_ReturnsTheFirstJobAndChargesOnce()
    {
        var backend = await NewBackendAsync(100);
        var first = NewJob("owner-a", idempotencyKey: "key-1");
        var second = NewJob("owner-a", idempotencyKey: "key-1");

        await backend.Lifecycle.SubmitAsync(Submission(first, credits: 30));
        var again = await backend.Lifecycle.SubmitAsync(Submission(second, credits: 30));

        Assert.False(again.Created);
        Assert.Equal(first.Id, again.Job.Id);
        Assert.Null(await backend.Store.GetAsync(second.Id));
        Assert.Equal(70, await backend.Ledger.GetBalanceAsync("owner-a"));
        var lease = await ReceiveOneAsync(backend.Queue);
        Assert.Equal(first.Id, lease.Message.JobId);
        await lease.CompleteAsync();
        Assert.Empty(await backend.Queue.ReceiveAsync(10, TimeSpan.Zero));
    }

    [ComplianceFact]
    public async Task SubmitAsync_InsufficientCredits_ThrowsAndWritesNothing()
    {
        var backend = await NewBackendAsync(10);
        var job = NewJob("owner-a", idempotencyKey: "key-1");

        await Assert.ThrowsAsync<InsufficientCreditsException>(() => backend.Lifecycle.SubmitAsync(Submission(job, credits: 30)).AsTask());

        Assert.Null(await backend.Store.GetAsync(job.Id));
        Assert.Equal(10, await backend.Ledger.GetBalanceAsync("owner-a"));
        Assert.Empty(await backend.Queue.ReceiveAsync(10, TimeSpan.Zero));
        Assert.Empty((await backend.Store.ListAsync(new JobQuery { OwnerId = "owner-a" })).Items);

        // The idempotency key was not taken by the refused job.
        await backend.Ledger.GrantAsync("owner-a", 100);
        Assert.True((await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-a", idempotencyKey: "key-1"), credits: 30))).Created);
    }

    [ComplianceFact]
    public async Task SubmitAsync_OwnerAtPendingLimit_RefusesAndWritesNothing()
    {
        var backend = await NewBackendAsync(100);
        var retryAfter = TimeSpan.FromSeconds(7);
        var limited = (GenerationJob job) => Submission(job, credits: 10) with { MaxPendingJobs = 2, PendingLimitRetryAfter = retryAfter };
        var first = NewJob("owner-a", idempotencyKey: "key-1");
        await backend.Lifecycle.SubmitAsync(limited(first));
        await backend.Lifecycle.SubmitAsync(limited(NewJob("owner-a")));
        var refusedJob = NewJob("owner-a", idempotencyKey: "key-3");

        var refused = await Assert.ThrowsAsync<OwnerLimitExceededException>(() => backend.Lifecycle.SubmitAsync(limited(refusedJob)).AsTask());

        Assert.Equal((OwnerLimit.PendingJobs, 2L, retryAfter), (refused.Limit, refused.Allowed, refused.RetryAfter));
        Assert.Equal(MediaGenErrorCodes.TooManyPendingJobs, refused.ErrorCode);
        Assert.Null(await backend.Store.GetAsync(refusedJob.Id));
        Assert.Equal(80, await backend.Ledger.GetBalanceAsync("owner-a"));
        Assert.Equal(2, (await backend.Store.ListAsync(new JobQuery { OwnerId = "owner-a" })).Items.Count);

        // A retried submission of an accepted job is answered, not refused; another owner is not limited by owner A.
        var again = await backend.Lifecycle.SubmitAsync(limited(NewJob("owner-a", idempotencyKey: "key-1")));
        Assert.Equal((false, first.Id), (again.Created, again.Job.Id));
        Assert.True((await backend.Lifecycle.SubmitAsync(limited(NewJob("owner-b")))).Created);

        // Once one of owner A's pending jobs starts, there is room again (and the refused job's key was never taken).
        var started = (await backend.Store.GetAsync(first.Id))!;
        Assert.True(await backend.Lifecycle.CommitAsync(new JobCommit
        {
            JobId = started.Id,
            OwnerId = started.OwnerId,
            Job = started with { Status = JobStatus.Processing, Version = started.Version + 1 },
            ExpectedVersion = started.Version,
        }));
        Assert.True((await backend.Lifecycle.SubmitAsync(limited(NewJob("owner-a", idempotencyKey: "key-3")))).Created);
    }

    [ComplianceFact]
    public async Task CommitAsync_StaleVersion_AppliesNothing()
    {
        var backend = await NewBackendAsync(100);
        var job = (await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-a"), credits: 30))).Job;
        var lease = await ReceiveOneAsync(backend.Queue);

        var applied = await backend.Lifecycle.CommitAsync(Finish(job, JobStatus.Failed, expectedVersion: job.Version + 5, refund: 30, lease, LeaseAction.Complete));

        Assert.False(applied);
        var stored = (await backend.Store.GetAsync(job.Id))!;
        Assert.Equal(JobStatus.Pending, stored.Status);
        Assert.Equal(1, stored.Version);
        Assert.Equal(70, await backend.Ledger.GetBalanceAsync("owner-a"));
        Assert.Single(await backend.Ledger.ListOpenReservationsAsync(Time.GetUtcNow().AddDays(1), 10));

        // The lease is still held: completing it works, and the message is then gone.
        await lease.CompleteAsync();
        Time.Advance(LeaseDuration * 2);
        Assert.Empty(await backend.Queue.ReceiveAsync(10, TimeSpan.Zero));
    }

    [ComplianceFact]
    public async Task CommitAsync_FailWithRefund_WritesSettlesCompletesAndPublishes()
    {
        var backend = await NewBackendAsync(100);
        var job = (await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-a"), credits: 30))).Job;
        var lease = await ReceiveOneAsync(backend.Queue);
        await using var events = await EventSubscription.OpenLiveAsync(backend.Events, backend.Events, job.Id, RealTimeout);

        var applied = await backend.Lifecycle.CommitAsync(Finish(job, JobStatus.Failed, job.Version, refund: 30, lease, LeaseAction.Complete));

        Assert.True(applied);
        var stored = (await backend.Store.GetAsync(job.Id))!;
        Assert.Equal(JobStatus.Failed, stored.Status);
        Assert.Equal(2, stored.Version);
        Assert.Equal(30, stored.CreditsRefunded);
        Assert.Equal(100, await backend.Ledger.GetBalanceAsync("owner-a"));
        Assert.Empty(await backend.Ledger.ListOpenReservationsAsync(Time.GetUtcNow().AddDays(1), 10));
        Assert.Equal(JobEventType.Failed, (await events.NextAsync(1))[0].Type);
        Time.Advance(LeaseDuration * 2);
        Assert.Empty(await backend.Queue.ReceiveAsync(10, TimeSpan.Zero));
        Assert.Equal(JobStatus.Failed, (await backend.Store.ListAsync(new JobQuery { OwnerId = "owner-a", Status = JobStatus.Failed })).Items.Single().Status);
    }

    [ComplianceFact]
    public async Task CommitAsync_PrecedingEvent_IsPublishedJustBeforeTheStepsOwn()
    {
        var backend = await NewBackendAsync(100);
        var job = (await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-a"), credits: 30))).Job;
        var lease = await ReceiveOneAsync(backend.Queue);
        await using var events = await EventSubscription.OpenLiveAsync(backend.Events, backend.Events, job.Id, RealTimeout);

        var applied = await backend.Lifecycle.CommitAsync(Finish(job, JobStatus.Succeeded, job.Version, refund: 0, lease, LeaseAction.Complete) with { PrecedingEvent = OutputStored(job) });

        Assert.True(applied);
        Assert.Equal([JobEventType.OutputStored, JobEventType.Succeeded], (await events.NextAsync(2)).Select(e => e.Type));

        // The live subscription's own probes are progress events; the rest is the job's history, numbered in order.
        var history = (await backend.Events.GetHistoryAsync(job.Id, 0)).Where(e => e.Type != JobEventType.Progress).ToList();
        Assert.Equal([JobEventType.Queued, JobEventType.OutputStored, JobEventType.Succeeded], history.Select(e => e.Type));
        Assert.Equal(history[1].Sequence + 1, history[2].Sequence);
        Assert.Equal(job.Id + "/0.png", history[1].Output?.Key);

        // The job's numbering went past both: the next event follows the step's own.
        await backend.Events.PublishAsync(new JobEvent { JobId = job.Id, OwnerId = job.OwnerId, Type = JobEventType.Progress, Timestamp = Time.GetUtcNow(), Status = JobStatus.Succeeded });
        Assert.Equal(history[2].Sequence + 1, (await backend.Events.GetHistoryAsync(job.Id, history[2].Sequence)).Single().Sequence);
    }

    [ComplianceFact]
    public async Task CommitAsync_PrecedingEventOnAStaleVersion_PublishesNothing()
    {
        var backend = await NewBackendAsync(100);
        var job = (await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-a"), credits: 30))).Job;
        var lease = await ReceiveOneAsync(backend.Queue);

        var applied = await backend.Lifecycle.CommitAsync(Finish(job, JobStatus.Succeeded, job.Version + 5, refund: 0, lease, LeaseAction.Complete) with { PrecedingEvent = OutputStored(job) });

        Assert.False(applied);
        Assert.Equal([JobEventType.Queued], (await backend.Events.GetHistoryAsync(job.Id, 0)).Select(e => e.Type));
        Assert.Equal(JobStatus.Pending, (await backend.Store.GetAsync(job.Id))!.Status);
    }

    [ComplianceFact]
    public async Task CommitAsync_PrecedingEventOnAStepThatCannotCarryIt_ThrowsAndAppliesNothing()
    {
        var backend = await NewBackendAsync(100);
        var job = (await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-a"), credits: 30))).Job;
        var commit = Finish(job, JobStatus.Failed, job.Version, refund: 30, await ReceiveOneAsync(backend.Queue), LeaseAction.Complete) with { Job = null, PrecedingEvent = OutputStored(job) };

        await Assert.ThrowsAsync<ArgumentException>(async () => await backend.Lifecycle.CommitAsync(commit));
        var otherJobsEvent = commit with { Job = job with { Status = JobStatus.Failed, Version = job.Version + 1 }, Event = commit.Event! with { JobId = NewJobId() } };
        await Assert.ThrowsAsync<ArgumentException>(async () => await backend.Lifecycle.CommitAsync(otherJobsEvent));

        Assert.Equal(70, await backend.Ledger.GetBalanceAsync("owner-a"));
        Assert.Equal([JobEventType.Queued], (await backend.Events.GetHistoryAsync(job.Id, 0)).Select(e => e.Type));
    }

    [ComplianceFact]
    public async Task CommitAsync_PartialSettlement_RefundsThatShareOnce()
    {
        // A job of four outputs at 10 credits each, one of which failed: it succeeds and a quarter comes back.
        var backend = await NewBackendAsync(100);
        var job = (await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-a"), credits: 40))).Job;
        var lease = await ReceiveOneAsync(backend.Queue);
        await using var events = await EventSubscription.OpenLiveAsync(backend.Events, backend.Events, job.Id, RealTimeout);
        var commit = Finish(job, JobStatus.Succeeded, job.Version, refund: 10, lease, LeaseAction.Complete);
        commit = commit with { Job = commit.Job! with { FailedOutputs = [new OutputFailure(1, MediaGenErrorCodes.ContentFiltered, "Output 1 was filtered.")] } };

        Assert.True(await backend.Lifecycle.CommitAsync(commit));

        Assert.Equal(70, await backend.Ledger.GetBalanceAsync("owner-a"));
        Assert.Empty(await backend.Ledger.ListOpenReservationsAsync(Time.GetUtcNow().AddDays(1), 10));
        var stored = (await backend.Store.GetAsync(job.Id))!;
        Assert.Equal((JobStatus.Succeeded, 40L, 10L), (stored.Status, stored.CreditsCharged, stored.CreditsRefunded));
        Assert.Equal(1, Assert.Single(stored.FailedOutputs).Index);
        Assert.Equal(JobEventType.Succeeded, (await events.NextAsync(1))[0].Type);

        // Applying the settlement again (a redelivery after a crash would), even for more, changes nothing.
        Assert.True(await backend.Lifecycle.CommitAsync(new JobCommit { JobId = job.Id, OwnerId = job.OwnerId, Settlement = 10 }));
        Assert.True(await backend.Lifecycle.CommitAsync(new JobCommit { JobId = job.Id, OwnerId = job.OwnerId, Settlement = 40 }));
        Assert.Equal(70, await backend.Ledger.GetBalanceAsync("owner-a"));
        Time.Advance(LeaseDuration * 2);
        Assert.Empty(await backend.Queue.ReceiveAsync(10, TimeSpan.Zero));
    }

    [ComplianceFact]
    public async Task CommitAsync_AbandonWithDelay_RedeliversAfterTheDelay()
    {
        var backend = await NewBackendAsync(100);
        var job = (await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-a"), credits: 10))).Job;
        var lease = await ReceiveOneAsync(backend.Queue);
        var retry = job with { Status = JobStatus.Pending, Attempt = 1, Version = job.Version + 1, UpdatedAt = Time.GetUtcNow() };

        Assert.True(await backend.Lifecycle.CommitAsync(new JobCommit
        {
            JobId = job.Id,
            OwnerId = job.OwnerId,
            Job = retry,
            ExpectedVersion = job.Version,
            Lease = new LeaseSettlement(lease, LeaseAction.Abandon) { Delay = TimeSpan.FromSeconds(10) },
        }));

        Assert.Empty(await backend.Queue.ReceiveAsync(10, TimeSpan.Zero));
        Time.Advance(TimeSpan.FromSeconds(11));
        var again = await ReceiveOneAsync(backend.Queue);
        Assert.Equal(job.Id, again.Message.JobId);
        Assert.Equal(2, again.DeliveryCount);
        Assert.Equal(1, (await backend.Store.GetAsync(job.Id))!.Attempt);
        Assert.Equal(90, await backend.Ledger.GetBalanceAsync("owner-a"));
        await again.CompleteAsync();
    }

    [ComplianceFact]
    public async Task CommitAsync_DeferredAbandon_RedeliversAfterTheDelayWithoutCountingTheDelivery()
    {
        var backend = await NewBackendAsync(100);
        var job = (await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-a"), credits: 10))).Job;
        var lease = await ReceiveOneAsync(backend.Queue);

        // A step that writes nothing and hands the delivery back on purpose (a provider pause), twice.
        for (var i = 0; i < 2; i++)
        {
            Assert.True(await backend.Lifecycle.CommitAsync(new JobCommit
            {
                JobId = job.Id,
                OwnerId = job.OwnerId,
                ExpectedVersion = job.Version,
                Lease = new LeaseSettlement(lease, LeaseAction.Abandon) { Delay = TimeSpan.FromSeconds(10), Deferred = true },
            }));

            Assert.Empty(await backend.Queue.ReceiveAsync(10, TimeSpan.Zero));
            Time.Advance(TimeSpan.FromSeconds(11));
            lease = await ReceiveOneAsync(backend.Queue);
            Assert.Equal((job.Id, 1), (lease.Message.JobId, lease.DeliveryCount));
        }

        Assert.Equal(job.Version, (await backend.Store.GetAsync(job.Id))!.Version);
        Assert.Equal(90, await backend.Ledger.GetBalanceAsync("owner-a"));
        await lease.CompleteAsync();
    }

    [ComplianceFact]
    public async Task CommitAsync_DeadLetter_MovesTheMessageWithItsReason()
    {
        var backend = await NewBackendAsync(100);
        var job = (await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-a"), credits: 10))).Job;
        var lease = await ReceiveOneAsync(backend.Queue);

        Assert.True(await backend.Lifecycle.CommitAsync(Finish(job, JobStatus.Failed, job.Version, refund: 10, lease, LeaseAction.DeadLetter, reason: "attempts_exhausted")));

        var dead = Assert.Single(await backend.Queue.ListDeadLettersAsync());
        Assert.Equal(job.Id, dead.Message.JobId);
        Assert.Equal("attempts_exhausted", dead.Reason);
        Assert.Equal(100, await backend.Ledger.GetBalanceAsync("owner-a"));
    }

    [ComplianceFact]
    public async Task CommitAsync_KeepLease_WritesTheJobAndTheLeaseStaysHeld()
    {
        var backend = await NewBackendAsync(100);
        var job = (await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-a"), credits: 10))).Job;
        var lease = await ReceiveOneAsync(backend.Queue);
        var started = job with
        {
            Status = JobStatus.Processing,
            Attempt = 1,
            LeaseHolder = "worker-1/1",
            LeaseExpiresAt = lease.LockedUntil,
            Version = job.Version + 1,
            UpdatedAt = Time.GetUtcNow(),
        };

        Assert.True(await backend.Lifecycle.CommitAsync(new JobCommit
        {
            JobId = job.Id,
            OwnerId = job.OwnerId,
            Job = started,
            ExpectedVersion = job.Version,
            Lease = new LeaseSettlement(lease, LeaseAction.Keep),
        }));

        var stored = (await backend.Store.GetAsync(job.Id))!;
        Assert.Equal(JobStatus.Processing, stored.Status);
        Assert.Equal("worker-1/1", stored.LeaseHolder);
        Assert.Equal(lease.LockedUntil.ToUnixTimeMilliseconds(), stored.LeaseExpiresAt!.Value.ToUnixTimeMilliseconds());
        Assert.Empty(await backend.Queue.ReceiveAsync(10, TimeSpan.Zero));
        await lease.RenewAsync();
        await lease.CompleteAsync();
    }

    [ComplianceFact]
    public async Task CommitAsync_NoJob_AppliesTheOtherEffectsWithoutWriting()
    {
        var backend = await NewBackendAsync(100);
        var job = (await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-a"), credits: 10))).Job;
        var lease = await ReceiveOneAsync(backend.Queue);

        Assert.True(await backend.Lifecycle.CommitAsync(new JobCommit
        {
            JobId = job.Id,
            OwnerId = job.OwnerId,
            Settlement = 10,
            Lease = new LeaseSettlement(lease, LeaseAction.Complete),
        }));

        Assert.Equal(1, (await backend.Store.GetAsync(job.Id))!.Version);
        Assert.Equal(100, await backend.Ledger.GetBalanceAsync("owner-a"));
        Time.Advance(LeaseDuration * 2);
        Assert.Empty(await backend.Queue.ReceiveAsync(10, TimeSpan.Zero));
    }

    [ComplianceFact]
    public async Task CommitAsync_Enqueue_AddsAMessageForAJobThatLostIt()
    {
        var backend = await NewBackendAsync(100);
        var job = (await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-a"), credits: 10))).Job;
        await (await ReceiveOneAsync(backend.Queue)).CompleteAsync();

        Assert.True(await backend.Lifecycle.CommitAsync(new JobCommit
        {
            JobId = job.Id,
            OwnerId = job.OwnerId,
            Job = job with { Version = job.Version + 1, UpdatedAt = Time.GetUtcNow() },
            ExpectedVersion = job.Version,
            Enqueue = new QueueMessage(job.Id),
            EnqueueOptions = new EnqueueOptions { Priority = JobPriority.High },
        }));

        var lease = await ReceiveOneAsync(backend.Queue);
        Assert.Equal(job.Id, lease.Message.JobId);
        Assert.Equal(JobPriority.High, lease.Priority);
        await lease.CompleteAsync();
    }

    [ComplianceFact]
    public async Task CommitAsync_LostLease_StillAppliesTheRestAndLeavesTheNewDeliveryAlone()
    {
        var backend = await NewBackendAsync(100);
        var job = (await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-a"), credits: 10))).Job;
        var stale = await ReceiveOneAsync(backend.Queue);
        Time.Advance(LeaseDuration + TimeSpan.FromSeconds(1));
        var current = await ReceiveOneAsync(backend.Queue);

        Assert.True(await backend.Lifecycle.CommitAsync(Finish(job, JobStatus.Failed, job.Version, refund: 10, stale, LeaseAction.Complete)));

        Assert.Equal(JobStatus.Failed, (await backend.Store.GetAsync(job.Id))!.Status);
        Assert.Equal(100, await backend.Ledger.GetBalanceAsync("owner-a"));
        await current.RenewAsync();
        await current.CompleteAsync();
    }

    [ComplianceFact]
    public async Task CommitAsync_ConcurrentStepsOnOneVersion_ExactlyOneApplies()
    {
        var backend = await NewBackendAsync(100);
        var job = (await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-a"), credits: 40))).Job;

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
            await backend.Lifecycle.CommitAsync(new JobCommit
            {
                JobId = job.Id,
                OwnerId = job.OwnerId,
                Job = job with { Status = JobStatus.Canceled, CreditsRefunded = 40, CompletedAt = Time.GetUtcNow(), Version = job.Version + 1, UpdatedAt = Time.GetUtcNow() },
                ExpectedVersion = job.Version,
                Settlement = 40,
            }))));

        Assert.Equal(1, results.Count(r => r));
        Assert.Equal(100, await backend.Ledger.GetBalanceAsync("owner-a"));
        Assert.Equal(2, (await backend.Store.GetAsync(job.Id))!.Version);
    }

    [ComplianceFact]
    public async Task CommitAsync_RetryAsANewRun_ReservesEnqueuesAndPublishesAndEachRunSettlesOnce()
    {
        var backend = await NewBackendAsync(100);
        var job = (await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-a"), credits: 30))).Job;
        Assert.True(await backend.Lifecycle.CommitAsync(Finish(job, JobStatus.Failed, job.Version, refund: 30, await ReceiveOneAsync(backend.Queue), LeaseAction.DeadLetter, "attempts_exhausted")));
        var failed = (await backend.Store.GetAsync(job.Id))!;
        await using var events = await EventSubscription.OpenLiveAsync(backend.Events, backend.Events, job.Id, RealTimeout);

        Assert.True(await backend.Lifecycle.CommitAsync(Retry(failed, credits: 40)));

        var stored = (await backend.Store.GetAsync(job.Id))!;
        Assert.Equal((JobStatus.Pending, 2, failed.Version + 1, 40L), (stored.Status, stored.Run, stored.Version, stored.CreditsCharged));
        Assert.Equal(60, await backend.Ledger.GetBalanceAsync("owner-a"));
        var open = Assert.Single(await backend.Ledger.ListOpenReservationsAsync(Time.GetUtcNow().AddDays(1), 10));
        Assert.Equal((job.Id + ".2", 40L), (open.JobId, open.Amount));
        Assert.Equal(JobEventType.Retried, (await events.NextAsync(1))[0].Type);
        var lease = await ReceiveOneAsync(backend.Queue);
        Assert.Equal((job.Id, job.Id + ".2"), (lease.Message.JobId, lease.Message.MessageId));

        // The new run fails too and is refunded; settling the first run again (a redelivery would) gives nothing more.
        Assert.True(await backend.Lifecycle.CommitAsync(Finish(stored, JobStatus.Failed, stored.Version, refund: 40, lease, LeaseAction.Complete) with { Run = 2 }));
        Assert.True(await backend.Lifecycle.CommitAsync(new JobCommit { JobId = job.Id, OwnerId = job.OwnerId, Run = 1, Settlement = 30 }));
        Assert.True(await backend.Lifecycle.CommitAsync(new JobCommit { JobId = job.Id, OwnerId = job.OwnerId, Run = 2, Settlement = 40 }));
        Assert.Equal(100, await backend.Ledger.GetBalanceAsync("owner-a"));
        Assert.Empty(await backend.Ledger.ListOpenReservationsAsync(Time.GetUtcNow().AddDays(1), 10));
    }

    [ComplianceFact]
    public async Task CommitAsync_RetryTheOwnerCannotPay_ThrowsAndAppliesNothing()
    {
        var backend = await NewBackendAsync(50);
        var job = (await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-a"), credits: 30))).Job;
        Assert.True(await backend.Lifecycle.CommitAsync(Finish(job, JobStatus.Failed, job.Version, refund: 0, await ReceiveOneAsync(backend.Queue), LeaseAction.Complete)));
        var failed = (await backend.Store.GetAsync(job.Id))!;

        var refused = await Assert.ThrowsAsync<InsufficientCreditsException>(async () => await backend.Lifecycle.CommitAsync(Retry(failed, credits: 30)));

        Assert.Equal((30L, 20L), (refused.Requested, refused.Available));
        var stored = (await backend.Store.GetAsync(job.Id))!;
        Assert.Equal((JobStatus.Failed, 1, failed.Version), (stored.Status, stored.Run, stored.Version));
        Assert.Equal(20, await backend.Ledger.GetBalanceAsync("owner-a"));
        Assert.Empty(await backend.Ledger.ListOpenReservationsAsync(Time.GetUtcNow().AddDays(1), 10));
        Time.Advance(LeaseDuration * 2);
        Assert.Empty(await backend.Queue.ReceiveAsync(10, TimeSpan.Zero));
    }

    [ComplianceFact]
    public async Task CommitAsync_RetryOnAStaleVersion_WritesAndEnqueuesNothing()
    {
        var backend = await NewBackendAsync(100);
        var job = (await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-a"), credits: 30))).Job;
        Assert.True(await backend.Lifecycle.CommitAsync(Finish(job, JobStatus.Failed, job.Version, refund: 30, await ReceiveOneAsync(backend.Queue), LeaseAction.Complete)));
        var failed = (await backend.Store.GetAsync(job.Id))!;

        Assert.False(await backend.Lifecycle.CommitAsync(Retry(failed, credits: 30) with { ExpectedVersion = failed.Version - 1 }));

        Assert.Equal((JobStatus.Failed, 1), ((await backend.Store.GetAsync(job.Id))!.Status, (await backend.Store.GetAsync(job.Id))!.Run));
        Time.Advance(LeaseDuration * 2);
        Assert.Empty(await backend.Queue.ReceiveAsync(10, TimeSpan.Zero));
        var open = await backend.Ledger.ListOpenReservationsAsync(Time.GetUtcNow().AddDays(1), 10);
        if (IsAtomic)
        {
            Assert.Empty(open);
            Assert.Equal(100, await backend.Ledger.GetBalanceAsync("owner-a"));
        }
        else
        {
            // Reserved before the write was refused: the run's reservation waits, open, for a retry decided again or the sweeper.
            Assert.Equal(job.Id + ".2", Assert.Single(open).JobId);
        }
    }

    [ComplianceFact]
    public async Task ListOpenReservationsAsync_AfterSubmitAndSettle_ShowsOnlyWhatIsOpen()
    {
        var backend = await NewBackendAsync(100);
        var open = (await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-a"), credits: 10))).Job;
        Time.Advance(TimeSpan.FromSeconds(1));
        var settled = (await backend.Lifecycle.SubmitAsync(Submission(NewJob("owner-b"), credits: 20))).Job;
        Assert.True(await backend.Lifecycle.CommitAsync(new JobCommit { JobId = settled.Id, OwnerId = settled.OwnerId, Settlement = 0 }));

        var listed = await backend.Ledger.ListOpenReservationsAsync(Time.GetUtcNow().AddMinutes(1), 10);

        var only = Assert.Single(listed);
        Assert.Equal(("owner-a", open.Id, 10L), (only.OwnerId, only.JobId, only.Amount));
        Assert.Empty(await backend.Ledger.ListOpenReservationsAsync(Time.GetUtcNow().AddSeconds(-1), 10));
        Assert.Equal(80, await backend.Ledger.GetBalanceAsync("owner-b"));
    }

    /// <summary>A new pending job for <paramref name="ownerId"/> at the current fake time.</summary>
    /// <param name="ownerId">The owner.</param>
    /// <param name="idempotencyKey">The idempotency key, if any.</param>
    /// <returns>The job.</returns>
    protected GenerationJob NewJob(string ownerId, string? idempotencyKey = null) => new()
    {
        Id = NewJobId(),
        Request = new GenerationRequest { Prompt = "a lighthouse", Model = "procedural", OwnerId = ownerId, IdempotencyKey = idempotencyKey },
        CreatedAt = Time.GetUtcNow(),
        UpdatedAt = Time.GetUtcNow(),
        Version = 1,
    };

    private static JobSubmission Submission(GenerationJob job, long credits) => new()
    {
        Job = job with { CreditsCharged = credits },
        Credits = credits,
        Message = new QueueMessage(job.Id),
        Event = new JobEvent { JobId = job.Id, OwnerId = job.OwnerId, Type = JobEventType.Queued, Timestamp = job.CreatedAt, Status = JobStatus.Pending },
    };

    private JobCommit Finish(GenerationJob job, JobStatus status, long expectedVersion, long refund, IQueueLease lease, LeaseAction action, string? reason = null) => new()
    {
        JobId = job.Id,
        OwnerId = job.OwnerId,
        Job = job with { Status = status, CreditsRefunded = refund, CompletedAt = Time.GetUtcNow(), UpdatedAt = Time.GetUtcNow(), Version = expectedVersion + 1 },
        ExpectedVersion = expectedVersion,
        Settlement = refund,
        Lease = new LeaseSettlement(lease, action) { Reason = reason, Description = reason is null ? null : "described" },
        Event = new JobEvent { JobId = job.Id, OwnerId = job.OwnerId, Type = status == JobStatus.Failed ? JobEventType.Failed : JobEventType.Succeeded, Timestamp = Time.GetUtcNow(), Status = status },
    };

    /// <summary>The event that the job's first output was stored, as the worker sends it with the step that ends the job.</summary>
    private JobEvent OutputStored(GenerationJob job) => new()
    {
        JobId = job.Id,
        OwnerId = job.OwnerId,
        Type = JobEventType.OutputStored,
        Timestamp = Time.GetUtcNow(),
        Status = JobStatus.Processing,
        Output = new JobOutput { Index = 0, Key = job.Id + "/0.png", ContentType = "image/png", Size = 3 },
    };

    /// <summary>The step that takes a finished job back to Pending as run 2, charged <paramref name="credits"/>.</summary>
    private JobCommit Retry(GenerationJob job, long credits)
    {
        var next = job with
        {
            Status = JobStatus.Pending,
            Run = job.Run + 1,
            Attempt = 0,
            CompletedAt = null,
            CreditsCharged = credits,
            CreditsRefunded = 0,
            UpdatedAt = Time.GetUtcNow(),
            Version = job.Version + 1,
        };
        return new JobCommit
        {
            JobId = job.Id,
            OwnerId = job.OwnerId,
            Job = next,
            ExpectedVersion = job.Version,
            Run = next.Run,
            Reserve = credits,
            Enqueue = new QueueMessage(job.Id) { MessageId = next.RunId, GroupId = job.OwnerId },
            Event = new JobEvent { JobId = job.Id, OwnerId = job.OwnerId, Type = JobEventType.Retried, Timestamp = Time.GetUtcNow(), Status = JobStatus.Pending },
        };
    }

    private async Task<LifecycleBackend> NewBackendAsync(long initialBalance)
    {
        var backend = await CreateBackendAsync(initialBalance);
        Track(backend);
        return backend;
    }

    private async Task<IQueueLease> ReceiveOneAsync(IJobQueue queue)
    {
        var leases = await WithinAsync(queue.ReceiveAsync(1, TimeSpan.FromMinutes(5)).AsTask(), "A receive");
        return Assert.Single(leases);
    }
}

/// <summary>A lifecycle store under test and the four seams it applies steps to.</summary>
/// <param name="Lifecycle">The lifecycle store.</param>
/// <param name="Store">Its job store.</param>
/// <param name="Ledger">Its credit ledger.</param>
/// <param name="Queue">Its queue.</param>
/// <param name="Events">Its event stream.</param>
/// <param name="Owned">What the fixture created and disposes with the backend.</param>
public sealed record LifecycleBackend(IJobLifecycleStore Lifecycle, IJobStore Store, ICreditLedger Ledger, IJobQueue Queue, IJobEventStream Events, params object[] Owned)
    : IAsyncDisposable
{
    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(Owned))
        {
            await Disposal.DisposeAsync(owned);
        }
    }
}
