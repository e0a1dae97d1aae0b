using System.Text.Json;

namespace MediaGen.Testing;

/// <summary>
/// The <see cref="IJobStore"/> contract, written once. Every job store's test project derives a class from this one
/// and says how to create a fresh, isolated store; the suite does the rest.
/// </summary>
/// <remarks>
/// Every job the suite writes carries <see cref="GenerationJob.UpdatedAt"/> = <see cref="ComplianceTestBase.Time"/>'s
/// now, so the suite holds whether a store keeps the caller's timestamp or stamps its own from the same clock.
/// </remarks>
public abstract class JobStoreComplianceTests : ComplianceTestBase
{
    /// <summary>Creates a fresh, empty, isolated store whose clock is <see cref="ComplianceTestBase.Time"/>.</summary>
    /// <returns>The store.</returns>
    protected abstract ValueTask<IJobStore> CreateStoreAsync();

    [ComplianceFact]
    public async Task CreateAsync_NewJob_IsReadableWithVersionOne()
    {
        var store = await NewStoreAsync();
        var job = NewJob("owner-a") with { Version = 42 };

        var result = await store.CreateAsync(job);

        Assert.True(result.Created);
        Assert.Equal(job.Id, result.Job.Id);
        Assert.Equal(1, result.Job.Version);
        var read = await store.GetAsync(job.Id);
        Assert.NotNull(read);
        AssertSameJob(job with { Version = 1 }, read);
    }

    [ComplianceFact]
    public async Task GetAsync_UnknownId_ReturnsNull()
    {
        var store = await NewStoreAsync();
        await store.CreateAsync(NewJob("owner-a"));

        Assert.Null(await store.GetAsync(NewJobId()));
    }

    [ComplianceFact]
    public async Task CreateAsync_EveryField_RoundTrips()
    {
        var store = await NewStoreAsync();
        var job = FullJob("owner-a");

        var created = await store.CreateAsync(job);
        var read = await store.GetAsync(job.Id);

        AssertSameJob(job with { Version = 1 }, created.Job);
        Assert.NotNull(read);
        AssertSameJob(job with { Version = 1 }, read);
    }

    [ComplianceFact]
    public async Task UpdateAsync_EveryField_RoundTrips()
    {
        var store = await NewStoreAsync();
        var created = (await store.CreateAsync(NewJob("owner-a"))).Job;
        Time.Advance(TimeSpan.FromSeconds(3));
        var full = FullJob("owner-a");
        var changed = full with { Id = created.Id, Request = created.Request, CreatedAt = created.CreatedAt };

        var updated = await store.UpdateAsync(changed, expectedVersion: 1);
        var read = await store.GetAsync(created.Id);

        Assert.NotNull(updated);
        AssertSameJob(changed with { Version = 2 }, updated);
        Assert.NotNull(read);
        AssertSameJob(changed with { Version = 2 }, read);
    }

    [ComplianceFact]
    public async Task UpdateAsync_CurrentVersion_IncrementsVersionEachTime()
    {
        var store = await NewStoreAsync();
        var job = (await store.CreateAsync(NewJob("owner-a"))).Job;

        for (var expected = 1; expected <= 5; expected++)
        {
            Time.Advance(TimeSpan.FromSeconds(1));
            var next = job with { Progress = expected / 10.0, UpdatedAt = Time.GetUtcNow(), Version = 999 };
            var updated = await store.UpdateAsync(next, expected);
            Assert.NotNull(updated);
            Assert.Equal(expected + 1, updated.Version);
            job = updated;
        }

        var read = await store.GetAsync(job.Id);
        Assert.NotNull(read);
        Assert.Equal(6, read.Version);
        Assert.Equal(0.5, read.Progress);
    }

    [ComplianceFact]
    public async Task UpdateAsync_StaleVersion_ReturnsNullAndChangesNothing()
    {
        var store = await NewStoreAsync();
        var job = (await store.CreateAsync(NewJob("owner-a"))).Job;
        var second = await store.UpdateAsync(job with { Status = JobStatus.Processing, Attempt = 1 }, 1);
        Assert.NotNull(second);

        var stale = await store.UpdateAsync(job with { Status = JobStatus.Canceled, CancelRequested = true }, 1);
        var future = await store.UpdateAsync(job with { Status = JobStatus.Canceled }, 3);

        Assert.Null(stale);
        Assert.Null(future);
        var read = await store.GetAsync(job.Id);
        Assert.NotNull(read);
        Assert.Equal(2, read.Version);
        Assert.Equal(JobStatus.Processing, read.Status);
        Assert.Equal(1, read.Attempt);
        Assert.False(read.CancelRequested);
    }

    [ComplianceFact]
    public async Task UpdateAsync_UnknownJob_ReturnsNullAndCreatesNothing()
    {
        var store = await NewStoreAsync();
        var job = NewJob("owner-a");

        Assert.Null(await store.UpdateAsync(job, 1));
        Assert.Null(await store.UpdateAsync(job, 0));

        Assert.Null(await store.GetAsync(job.Id));
        Assert.Empty((await store.ListAsync(new JobQuery { OwnerId = "owner-a" })).Items);
    }

    [ComplianceFact]
    public async Task UpdateAsync_ConcurrentWritersWithOneVersion_ExactlyOneWins()
    {
        var store = await NewStoreAsync();
        var job = (await store.CreateAsync(NewJob("owner-a"))).Job;

        var results = await WithinAsync(
            Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
                await store.UpdateAsync(job with { ProgressMessage = $"writer-{i}" }, 1)))),
            "Sixteen concurrent updates");

        var winner = Assert.Single(results, r => r is not null);
        Assert.Equal(2, winner!.Version);
        var read = await store.GetAsync(job.Id);
        Assert.NotNull(read);
        Assert.Equal(2, read.Version);
        Assert.Equal(winner.ProgressMessage, read.ProgressMessage);
    }

    [ComplianceFact]
    public async Task CreateAsync_SameIdempotencyKeySameOwner_ReturnsTheExistingJobAndWritesNothing()
    {
        var store = await NewStoreAsync();
        var first = NewJob("owner-a", idempotencyKey: "key-1");
        var second = NewJob("owner-a", idempotencyKey: "key-1");

        var created = await store.CreateAsync(first);
        var repeated = await store.CreateAsync(second);

        Assert.True(created.Created);
        Assert.False(repeated.Created);
        Assert.Equal(first.Id, repeated.Job.Id);
        Assert.Equal(1, repeated.Job.Version);
        Assert.Null(await store.GetAsync(second.Id));
        Assert.Equal([first.Id], (await store.ListAsync(new JobQuery { OwnerId = "owner-a" })).Items.Select(j => j.Id));
    }

    [ComplianceFact]
    public async Task CreateAsync_SameIdempotencyKeyAfterUpdate_ReturnsTheCurrentJob()
    {
        var store = await NewStoreAsync();
        var first = (await store.CreateAsync(NewJob("owner-a", idempotencyKey: "key-1"))).Job;
        await store.UpdateAsync(first with { Status = JobStatus.Processing, Attempt = 1 }, 1);

        var repeated = await store.CreateAsync(NewJob("owner-a", idempotencyKey: "key-1"));

        Assert.False(repeated.Created);
        Assert.Equal(first.Id, repeated.Job.Id);
        Assert.Equal(JobStatus.Processing, repeated.Job.Status);
        Assert.Equal(2, repeated.Job.Version);
    }

    [ComplianceFact]
    public async Task CreateAsync_SameIdempotencyKeyOtherOwner_CreatesANewJob()
    {
        var store = await NewStoreAsync();
        var mine = NewJob("owner-a", idempotencyKey: "key-1");
        var theirs = NewJob("owner-b", idempotencyKey: "key-1");

        Assert.True((await store.CreateAsync(mine)).Created);
        var result = await store.CreateAsync(theirs);

        Assert.True(result.Created);
        Assert.Equal(theirs.Id, result.Job.Id);
        Assert.NotNull(await store.GetAsync(mine.Id));
        Assert.NotNull(await store.GetAsync(theirs.Id));
    }

    [ComplianceFact]
    public async Task CreateAsync_NoIdempotencyKey_CreatesEveryJob()
    {
        var store = await NewStoreAsync();

        var results = new List<JobCreateResult>();
        for (var i = 0; i < 3; i++)
        {
            results.Add(await store.CreateAsync(NewJob("owner-a")));
        }

        Assert.All(results, r => Assert.True(r.Created));
        Assert.Equal(3, (await store.ListAsync(new JobQuery { OwnerId = "owner-a" })).Items.Count);
    }

    [ComplianceFact]
    public async Task CreateAsync_ConcurrentCreatesWithOneKey_CreateExactlyOneJob()
    {
        var store = await NewStoreAsync();
        var jobs = Enumerable.Range(0, 24).Select(_ => NewJob("owner-a", idempotencyKey: "same-key")).ToList();

        var results = await WithinAsync(
            Task.WhenAll(jobs.Select(job => Task.Run(async () => await store.CreateAsync(job)))),
            "Twenty-four concurrent creates");

        var created = Assert.Single(results, r => r.Created);
        Assert.All(results, r => Assert.Equal(created.Job.Id, r.Job.Id));
        var page = await store.ListAsync(new JobQuery { OwnerId = "owner-a" });
        Assert.Equal([created.Job.Id], page.Items.Select(j => j.Id));
        foreach (var job in jobs.Where(j => j.Id != created.Job.Id))
        {
            Assert.Null(await store.GetAsync(job.Id));
        }
    }

    [ComplianceFact]
    public async Task DeleteAsync_ExistingJob_RemovesItAndFreesItsIdempotencyKey()
    {
        var store = await NewStoreAsync();
        var job = NewJob("owner-a", idempotencyKey: "key-1");
        await store.CreateAsync(job);

        Assert.True(await store.DeleteAsync(job.Id));
        Assert.False(await store.DeleteAsync(job.Id));

        Assert.Null(await store.GetAsync(job.Id));
        Assert.Empty((await store.ListAsync(new JobQuery { OwnerId = "owner-a" })).Items);
        Assert.Empty(await store.ListStaleAsync(JobStatus.Pending, Time.GetUtcNow().AddDays(1), 10));
        var again = NewJob("owner-a", idempotencyKey: "key-1");
        var result = await store.CreateAsync(again);
        Assert.True(result.Created);
        Assert.Equal(again.Id, result.Job.Id);
    }

    [ComplianceFact]
    public async Task DeleteAsync_UnknownJob_ReturnsFalse()
    {
        var store = await NewStoreAsync();
        var kept = NewJob("owner-a");
        await store.CreateAsync(kept);

        Assert.False(await store.DeleteAsync(NewJobId()));
        Assert.NotNull(await store.GetAsync(kept.Id));
    }

    [ComplianceFact]
    public async Task DeleteFinishedAsync_FinishedAtTheVersionRead_RemovesItAndFreesItsIdempotencyKey()
    {
        var store = await NewStoreAsync();
        var created = (await store.CreateAsync(NewJob("owner-a", idempotencyKey: "key-1"))).Job;
        var failed = (await store.UpdateAsync(created with { Status = JobStatus.Failed }, 1))!;

        Assert.True(await store.DeleteFinishedAsync(failed.Id, failed.Version));
        Assert.False(await store.DeleteFinishedAsync(failed.Id, failed.Version));

        Assert.Null(await store.GetAsync(failed.Id));
        Assert.Empty((await store.ListAsync(new JobQuery { OwnerId = "owner-a" })).Items);
        Assert.Empty(await store.ListRecentAsync(JobStatus.Failed, 10));
        var again = NewJob("owner-a", idempotencyKey: "key-1");
        var result = await store.CreateAsync(again);
        Assert.True(result.Created);
        Assert.Equal(again.Id, result.Job.Id);
    }

    [ComplianceFact]
    public async Task DeleteFinishedAsync_EveryFinishedStatus_IsDeleted()
    {
        var store = await NewStoreAsync();
        foreach (var status in new[] { JobStatus.Succeeded, JobStatus.Failed, JobStatus.Canceled })
        {
            var created = (await store.CreateAsync(NewJob("owner-a"))).Job;
            var finished = (await store.UpdateAsync(created with { Status = status }, 1))!;

            Assert.True(await store.DeleteFinishedAsync(finished.Id, 2), $"a job {status} at version 2 was not deleted");
            Assert.Null(await store.GetAsync(finished.Id));
        }
    }

    [ComplianceFact]
    public async Task DeleteFinishedAsync_JobRunAgainSinceItWasRead_ReturnsFalseAndKeepsTheNewRun()
    {
        var store = await NewStoreAsync();
        var created = (await store.CreateAsync(NewJob("owner-a", idempotencyKey: "key-1"))).Job;
        var failed = (await store.UpdateAsync(created with { Status = JobStatus.Failed }, 1))!;

        // The caller read the job Failed at version 2; a retry then took it back to Pending as run 2.
        var retried = (await store.UpdateAsync(failed with { Status = JobStatus.Pending, Run = 2 }, 2))!;
        Assert.False(await store.DeleteFinishedAsync(failed.Id, failed.Version));
        var kept = await store.GetAsync(failed.Id);
        Assert.NotNull(kept);
        Assert.Equal((3L, JobStatus.Pending, 2), (kept.Version, kept.Status, kept.Run));

        // Finished again, it is still not the job the caller read.
        var succeeded = (await store.UpdateAsync(retried with { Status = JobStatus.Succeeded }, 3))!;
        Assert.False(await store.DeleteFinishedAsync(failed.Id, failed.Version));

        var read = await store.GetAsync(failed.Id);
        Assert.NotNull(read);
        Assert.Equal((4L, JobStatus.Succeeded, 2), (read.Version, read.Status, read.Run));
        Assert.Equal([failed.Id], (await store.ListAsync(new JobQuery { OwnerId = "owner-a" })).Items.Select(j => j.Id));
        Assert.False((await store.CreateAsync(NewJob("owner-a", idempotencyKey: "key-1"))).Created);
        Assert.True(await store.DeleteFinishedAsync(succeeded.Id, 4));
    }

    [ComplianceFact]
    public async Task DeleteFinishedAsync_UnfinishedJobAtItsVersion_ReturnsFalseAndKeepsIt()
    {
        var store = await NewStoreAsync();
        var pending = (await store.CreateAsync(NewJob("owner-a"))).Job;
        Assert.False(await store.DeleteFinishedAsync(pending.Id, 1));

        var processing = (await store.UpdateAsync(pending with { Status = JobStatus.Processing, Attempt = 1 }, 1))!;
        Assert.False(await store.DeleteFinishedAsync(processing.Id, 2));

        var read = await store.GetAsync(pending.Id);
        Assert.NotNull(read);
        Assert.Equal((2L, JobStatus.Processing), (read.Version, read.Status));
        Assert.Equal([pending.Id], (await store.ListStaleAsync(JobStatus.Processing, Time.GetUtcNow().AddDays(1), 10)).Select(j => j.Id));
    }

    [ComplianceFact]
    public async Task DeleteFinishedAsync_UnknownJobOrVersionNotYetWritten_ReturnsFalse()
    {
        var store = await NewStoreAsync();
        var created = (await store.CreateAsync(NewJob("owner-a"))).Job;
        var canceled = (await store.UpdateAsync(created with { Status = JobStatus.Canceled }, 1))!;

        Assert.False(await store.DeleteFinishedAsync(NewJobId(), 2));
        Assert.False(await store.DeleteFinishedAsync(canceled.Id, 3));
        Assert.False(await store.DeleteFinishedAsync(canceled.Id, 1));

        Assert.Equal(2, (await store.GetAsync(canceled.Id))!.Version);
    }

    [ComplianceFact]
    public async Task UpdateAsync_DeletedJob_ReturnsNull()
    {
        var store = await NewStoreAsync();
        var job = (await store.CreateAsync(NewJob("owner-a"))).Job;
        await store.DeleteAsync(job.Id);

        Assert.Null(await store.UpdateAsync(job with { Status = JobStatus.Processing }, 1));
        Assert.Null(await store.GetAsync(job.Id));
    }

    [ComplianceFact]
    public async Task ListAsync_SeveralJobs_ListsNewestFirst()
    {
        var store = await NewStoreAsync();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var job = NewJob("owner-a");
            await store.CreateAsync(job);
            ids.Add(job.Id);
            Time.Advance(TimeSpan.FromSeconds(1));
        }

        var page = await store.ListAsync(new JobQuery { OwnerId = "owner-a" });

        Assert.Equal(Enumerable.Reverse(ids), page.Items.Select(j => j.Id));
        Assert.Null(page.NextCursor);
    }

    [ComplianceFact]
    public async Task ListAsync_UnknownOwner_ReturnsAnEmptyLastPage()
    {
        var store = await NewStoreAsync();
        await store.CreateAsync(NewJob("owner-a"));

        var page = await store.ListAsync(new JobQuery { OwnerId = "owner-z" });

        Assert.Empty(page.Items);
        Assert.Null(page.NextCursor);
    }

    [ComplianceFact]
    public async Task ListAsync_OtherOwnersJobs_AreNeverListed()
    {
        var store = await NewStoreAsync();
        var mine = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 6; i++)
        {
            var job = NewJob(i % 2 == 0 ? "owner-a" : "owner-b");
            await store.CreateAsync(job);
            if (i % 2 == 0)
            {
                mine.Add(job.Id);
            }
        }

        var all = await ListAllAsync(store, new JobQuery { OwnerId = "owner-a", Limit = 2 });
        var pending = await ListAllAsync(store, new JobQuery { OwnerId = "owner-a", Status = JobStatus.Pending, Limit = 2 });

        Assert.Equal(mine.Order(StringComparer.Ordinal), all.Select(j => j.Id).Order(StringComparer.Ordinal));
        Assert.Equal(mine.Order(StringComparer.Ordinal), pending.Select(j => j.Id).Order(StringComparer.Ordinal));
        Assert.All(all, j => Assert.Equal("owner-a", j.OwnerId));
    }

    [ComplianceFact]
    public async Task ListAsync_StatusFilter_ListsOnlyJobsCurrentlyInThatStatus()
    {
        var store = await NewStoreAsync();
        var jobs = new List<GenerationJob>();
        for (var i = 0; i < 6; i++)
        {
            jobs.Add((await store.CreateAsync(NewJob("owner-a"))).Job);
            Time.Advance(TimeSpan.FromSeconds(1));
        }

        // Statuses change after creation: a filter must follow the stored status, not the one at creation.
        await store.UpdateAsync(jobs[1] with { Status = JobStatus.Processing, UpdatedAt = Time.GetUtcNow() }, 1);
        await store.UpdateAsync(jobs[3] with { Status = JobStatus.Processing, UpdatedAt = Time.GetUtcNow() }, 1);
        var toSucceed = await store.UpdateAsync(jobs[4] with { Status = JobStatus.Processing, UpdatedAt = Time.GetUtcNow() }, 1);
        await store.UpdateAsync(toSucceed! with { Status = JobStatus.Succeeded, UpdatedAt = Time.GetUtcNow() }, 2);

        var pending = await store.ListAsync(new JobQuery { OwnerId = "owner-a", Status = JobStatus.Pending });
        var processing = await store.ListAsync(new JobQuery { OwnerId = "owner-a", Status = JobStatus.Processing });
        var succeeded = await store.ListAsync(new JobQuery { OwnerId = "owner-a", Status = JobStatus.Succeeded });
        var failed = await store.ListAsync(new JobQuery { OwnerId = "owner-a", Status = JobStatus.Failed });

        Assert.Equal([jobs[5].Id, jobs[2].Id, jobs[0].Id], pending.Items.Select(j => j.Id));
        Assert.Equal([jobs[3].Id, jobs[1].Id], processing.Items.Select(j => j.Id));
        Assert.Equal([jobs[4].Id], succeeded.Items.Select(j => j.Id));
        Assert.All(processing.Items, j => Assert.Equal(JobStatus.Processing, j.Status));
        Assert.Empty(failed.Items);
    }

    [ComplianceFact]
    public async Task ListAsync_CursorPaging_ReturnsEveryJobOnceInOrder()
    {
        var store = await NewStoreAsync();
        var ids = new List<string>();
        for (var i = 0; i < 23; i++)
        {
            var job = NewJob("owner-a");
            await store.CreateAsync(job);
            ids.Add(job.Id);
            Time.Advance(TimeSpan.FromMilliseconds(250));
        }

        var pages = new List<JobPage>();
        string? cursor = null;
        do
        {
            var page = await store.ListAsync(new JobQuery { OwnerId = "owner-a", Limit = 5, Cursor = cursor });
            pages.Add(page);
            cursor = page.NextCursor;
        }
        while (cursor is not null && pages.Count < 20);

        Assert.Equal([5, 5, 5, 5, 3], pages.Select(p => p.Items.Count));
        Assert.Equal(Enumerable.Reverse(ids), pages.SelectMany(p => p.Items).Select(j => j.Id));
    }

    [ComplianceFact]
    public async Task ListAsync_PagesThatExactlyFillTheLastPage_EndWithNullCursor()
    {
        var store = await NewStoreAsync();
        for (var i = 0; i < 10; i++)
        {
            await store.CreateAsync(NewJob("owner-a"));
            Time.Advance(TimeSpan.FromSeconds(1));
        }

        var first = await store.ListAsync(new JobQuery { OwnerId = "owner-a", Limit = 5 });
        Assert.NotNull(first.NextCursor);
        var second = await store.ListAsync(new JobQuery { OwnerId = "owner-a", Limit = 5, Cursor = first.NextCursor });

        Assert.Equal(5, second.Items.Count);
        Assert.Null(second.NextCursor);
        Assert.Empty(first.Items.Select(j => j.Id).Intersect(second.Items.Select(j => j.Id), StringComparer.Ordinal));
    }

    [ComplianceFact]
    public async Task ListAsync_JobsCreatedInTheSameInstant_PageWithoutDuplicatesOrGaps()
    {
        var store = await NewStoreAsync();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 17; i++)
        {
            var job = NewJob("owner-a");
            await store.CreateAsync(job);
            ids.Add(job.Id);
        }

        var listed = await ListAllAsync(store, new JobQuery { OwnerId = "owner-a", Limit = 4 });

        Assert.Equal(ids.Order(StringComparer.Ordinal), listed.Select(j => j.Id).Order(StringComparer.Ordinal));
    }

    [ComplianceFact]
    public async Task ListAsync_JobsAddedBetweenPages_StillListsEveryEarlierJobExactlyOnce()
    {
        var store = await NewStoreAsync();
        var original = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            var job = NewJob("owner-a");
            await store.CreateAsync(job);
            original.Add(job.Id);
            Time.Advance(TimeSpan.FromSeconds(1));
        }

        var listed = new List<string>();
        var page = await store.ListAsync(new JobQuery { OwnerId = "owner-a", Limit = 5 });
        listed.AddRange(page.Items.Select(j => j.Id));
        for (var round = 0; page.NextCursor is not null && round < 10; round++)
        {
            for (var i = 0; i < 3; i++)
            {
                await store.CreateAsync(NewJob("owner-a"));
                Time.Advance(TimeSpan.FromSeconds(1));
            }

            page = await store.ListAsync(new JobQuery { OwnerId = "owner-a", Limit = 5, Cursor = page.NextCursor });
            listed.AddRange(page.Items.Select(j => j.Id));
        }

        Assert.Equal(listed.Count, listed.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(Enumerable.Reverse(original), listed.Where(original.Contains));
    }

    [ComplianceFact]
    public async Task ListAsync_CursorPagingWithStatusFilter_ListsEveryMatchingJobOnce()
    {
        var store = await NewStoreAsync();
        var failed = new List<string>();
        for (var i = 0; i < 14; i++)
        {
            var job = (await store.CreateAsync(NewJob("owner-a"))).Job;
            if (i % 3 != 0)
            {
                await store.UpdateAsync(job with { Status = JobStatus.Failed, Error = new JobError("generator_failed", "No.", false) }, 1);
                failed.Add(job.Id);
            }

            Time.Advance(TimeSpan.FromSeconds(1));
        }

        var listed = await ListAllAsync(store, new JobQuery { OwnerId = "owner-a", Status = JobStatus.Failed, Limit = 3 });

        Assert.Equal(Enumerable.Reverse(failed), listed.Select(j => j.Id));
        Assert.All(listed, j => Assert.Equal(JobStatus.Failed, j.Status));
    }

    [ComplianceFact]
    public async Task ListAsync_DeletedJobBetweenPages_IsSkippedAndTheRestStillListed()
    {
        var store = await NewStoreAsync();
        var ids = new List<string>();
        for (var i = 0; i < 9; i++)
        {
            var job = NewJob("owner-a");
            await store.CreateAsync(job);
            ids.Add(job.Id);
            Time.Advance(TimeSpan.FromSeconds(1));
        }

        var first = await store.ListAsync(new JobQuery { OwnerId = "owner-a", Limit = 3 });
        await store.DeleteAsync(ids[4]);
        var rest = await ListAllAsync(store, new JobQuery { OwnerId = "owner-a", Limit = 3, Cursor = first.NextCursor });

        var expected = Enumerable.Reverse(ids).Where(id => id != ids[4]);
        Assert.Equal(expected, first.Items.Concat(rest).Select(j => j.Id));
    }

    [ComplianceFact]
    public Task ListAsync_GarbageCursor_ThrowsRequestValidation() => ListAsync_InvalidCursor_ThrowsRequestValidationCore("not a cursor!");

    [ComplianceFact]
    public Task ListAsync_TruncatedCursor_ThrowsRequestValidation() => ListAsync_InvalidCursor_ThrowsRequestValidationCore("{\"t\":");

    [ComplianceFact]
    public Task ListAsync_PercentCursor_ThrowsRequestValidation() => ListAsync_InvalidCursor_ThrowsRequestValidationCore("%%%");

    private async Task ListAsync_InvalidCursor_ThrowsRequestValidationCore(string cursor)
    {
        var store = await NewStoreAsync();
        await store.CreateAsync(NewJob("owner-a"));

        var e = await Assert.ThrowsAsync<RequestValidationException>(() => store.ListAsync(new JobQuery { OwnerId = "owner-a", Cursor = cursor }).AsTask());

        Assert.Contains("cursor", e.Errors.Keys, StringComparer.OrdinalIgnoreCase);
    }

    [ComplianceFact]
    public Task ListAsync_LimitZero_ThrowsRequestValidation() => ListAsync_LimitOutOfRange_ThrowsRequestValidationCore(0);

    [ComplianceFact]
    public Task ListAsync_LimitNegative_ThrowsRequestValidation() => ListAsync_LimitOutOfRange_ThrowsRequestValidationCore(-1);

    [ComplianceFact]
    public Task ListAsync_LimitAboveMax_ThrowsRequestValidation() => ListAsync_LimitOutOfRange_ThrowsRequestValidationCore(JobQuery.MaxLimit + 1);

    private async Task ListAsync_LimitOutOfRange_ThrowsRequestValidationCore(int limit)
    {
        var store = await NewStoreAsync();

        var e = await Assert.ThrowsAsync<RequestValidationException>(() => store.ListAsync(new JobQuery { OwnerId = "owner-a", Limit = limit }).AsTask());

        Assert.Contains("limit", e.Errors.Keys, StringComparer.OrdinalIgnoreCase);
    }

    [ComplianceFact]
    public async Task ListAsync_MaxLimit_IsAccepted()
    {
        var store = await NewStoreAsync();
        await store.CreateAsync(NewJob("owner-a"));

        var page = await store.ListAsync(new JobQuery { OwnerId = "owner-a", Limit = JobQuery.MaxLimit });

        Assert.Single(page.Items);
    }

    [ComplianceFact]
    public async Task ListStaleAsync_JobsOfEveryOwner_ReturnsOnlyThoseInTheStatusNotWrittenSince()
    {
        var store = await NewStoreAsync();
        var oldPendingA = (await store.CreateAsync(NewJob("owner-a"))).Job;
        var oldPendingB = (await store.CreateAsync(NewJob("owner-b"))).Job;
        var oldProcessing = (await store.CreateAsync(NewJob("owner-a") with { Status = JobStatus.Processing })).Job;
        var refreshed = (await store.CreateAsync(NewJob("owner-a"))).Job;
        Time.Advance(TimeSpan.FromMinutes(10));
        var cutoff = Time.GetUtcNow();
        await store.UpdateAsync(refreshed with { Attempt = 1, UpdatedAt = Time.GetUtcNow() }, 1);
        var recentPending = (await store.CreateAsync(NewJob("owner-c"))).Job;
        Time.Advance(TimeSpan.FromMinutes(1));

        var stalePending = await store.ListStaleAsync(JobStatus.Pending, cutoff, 10);
        var staleProcessing = await store.ListStaleAsync(JobStatus.Processing, cutoff, 10);
        var staleSucceeded = await store.ListStaleAsync(JobStatus.Succeeded, cutoff, 10);

        Assert.Equal(
            new[] { oldPendingA.Id, oldPendingB.Id }.Order(StringComparer.Ordinal),
            stalePending.Select(j => j.Id).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(stalePending, j => j.Id == recentPending.Id || j.Id == refreshed.Id);
        Assert.Equal([oldProcessing.Id], staleProcessing.Select(j => j.Id));
        Assert.Empty(staleSucceeded);
    }

    [ComplianceFact]
    public async Task ListRecentAsync_JobsOfEveryOwner_ReturnsTheNewestInTheStatusFirst()
    {
        var store = await NewStoreAsync();
        var failed = new List<GenerationJob>();
        for (var i = 0; i < 5; i++)
        {
            failed.Add((await store.CreateAsync(NewJob($"owner-{i % 2}") with { Status = JobStatus.Failed })).Job);
            await store.CreateAsync(NewJob("owner-a"));
            Time.Advance(TimeSpan.FromSeconds(1));
        }

        // The oldest failure, written again now, is the newest.
        var rewritten = await store.UpdateAsync(failed[0] with { Attempt = 2, UpdatedAt = Time.GetUtcNow() }, failed[0].Version);

        var recent = await store.ListRecentAsync(JobStatus.Failed, 3);
        var all = await store.ListRecentAsync(JobStatus.Failed, 100);

        Assert.Equal([rewritten!.Id, failed[4].Id, failed[3].Id], recent.Select(j => j.Id));
        Assert.Equal([rewritten.Id, failed[4].Id, failed[3].Id, failed[2].Id, failed[1].Id], all.Select(j => j.Id));
        Assert.Empty(await store.ListRecentAsync(JobStatus.Canceled, 3));
        Assert.Empty(await store.ListRecentAsync(JobStatus.Failed, 0));
    }

    [ComplianceFact]
    public async Task ListStaleAsync_MoreThanMaxCount_ReturnsAtMostMaxCount()
    {
        var store = await NewStoreAsync();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 7; i++)
        {
            var job = NewJob($"owner-{i % 3}");
            await store.CreateAsync(job);
            ids.Add(job.Id);
        }

        Time.Advance(TimeSpan.FromMinutes(5));

        var some = await store.ListStaleAsync(JobStatus.Pending, Time.GetUtcNow(), 3);
        var all = await store.ListStaleAsync(JobStatus.Pending, Time.GetUtcNow(), 100);

        Assert.Equal(3, some.Count);
        Assert.All(some, j => Assert.Contains(j.Id, ids));
        Assert.Equal(ids.Order(StringComparer.Ordinal), all.Select(j => j.Id).Order(StringComparer.Ordinal));
    }

    [ComplianceFact]
    public async Task ListStaleAsync_JobWrittenExactlyAtTheCutoff_IsNotStale()
    {
        var store = await NewStoreAsync();
        var job = (await store.CreateAsync(NewJob("owner-a"))).Job;

        Assert.Empty(await store.ListStaleAsync(JobStatus.Pending, job.UpdatedAt, 10));
        Assert.Single(await store.ListStaleAsync(JobStatus.Pending, job.UpdatedAt.AddMilliseconds(1), 10));
    }

    /// <summary>Creates a tracked store.</summary>
    /// <returns>The store.</returns>
    protected async Task<IJobStore> NewStoreAsync() => Track(await CreateStoreAsync());

    /// <summary>A minimal pending job for <paramref name="ownerId"/>, created and written now.</summary>
    /// <param name="ownerId">The owner.</param>
    /// <param name="idempotencyKey">The idempotency key, if any.</param>
    /// <returns>The job.</returns>
    protected GenerationJob NewJob(string ownerId, string? idempotencyKey = null) => new()
    {
        Id = NewJobId(),
        Request = new GenerationRequest
        {
            Prompt = "a lighthouse at dusk",
            Model = "test-model",
            OwnerId = ownerId,
            IdempotencyKey = idempotencyKey,
        },
        CreatedAt = Time.GetUtcNow(),
        UpdatedAt = Time.GetUtcNow(),
    };

    /// <summary>A job with every field set to a value other than its default.</summary>
    /// <param name="ownerId">The owner.</param>
    /// <returns>The job.</returns>
    protected GenerationJob FullJob(string ownerId)
    {
        var now = Time.GetUtcNow();
        var id = NewJobId();
        using var parameters = JsonDocument.Parse("""
            {
              "guidance": 3.5,
              "steps": 28,
              "scheduler": "euler \"a\" é",
              "tiling": true,
              "nothing": null,
              "loras": [ { "name": "film", "scale": 0.8 } ]
            }
            """);
        return new GenerationJob
        {
            Id = id,
            Request = new GenerationRequest
            {
                Prompt = "A red fox in fresh snow, \"cinematic\", 35mm — ünïcödé ✓\nsecond line",
                NegativePrompt = "blurry, low quality",
                Model = "flux-schnell",
                OwnerId = ownerId,
                Settings = new GenerationSettings
                {
                    Width = 1024,
                    Height = 768,
                    AspectRatio = "4:3",
                    OutputCount = 2,
                    OutputFormat = OutputFormat.Webp,
                    Seed = 9_007_199_254_740_993,
                },
                Parameters = parameters.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal),
                IdempotencyKey = "order-1234/attempt:1",
                WebhookUrl = new Uri("https://hooks.example.test/mediagen?token=abc&x=1"),
                WebhookEvents = WebhookEventFilter.Start | WebhookEventFilter.Output,
                Priority = JobPriority.High,
            },
            Status = JobStatus.Failed,
            Attempt = 3,
            CreatedAt = now.AddMinutes(-5).AddMilliseconds(125),
            UpdatedAt = now,
            StartedAt = now.AddMinutes(-4).AddMilliseconds(250),
            CompletedAt = now.AddMilliseconds(-375),
            NextAttemptAt = now.AddSeconds(30).AddMilliseconds(500),
            Deadline = now.AddHours(1).AddMilliseconds(625),
            Outputs =
            [
                new JobOutput
                {
                    Index = 0,
                    Key = $"{id}/0.webp",
                    Url = new Uri($"https://cdn.example.test/media/{id}/0.webp?sig=a%2Fb"),
                    ContentType = "image/webp",
                    Size = 123_456,
                    Width = 1024,
                    Height = 768,
                    ThumbnailKey = $"{id}/0.thumb.webp",
                },
                new JobOutput
                {
                    Index = 1,
                    Key = $"{id}/1.webp",
                    ContentType = "image/webp",
                    Size = 7,
                },
            ],
            FailedOutputs =
            [
                new OutputFailure(2, MediaGenErrorCodes.ContentFiltered, "Output 2 was \"filtered\" — ünïcödé."),
                new OutputFailure(3, MediaGenErrorCodes.GeneratorPermanent, "Output 3 was lost."),
            ],
            Error = new JobError(MediaGenErrorCodes.AttemptsExhausted, "Every attempt failed: provider said \"busy\".", Retryable: false),
            CreditsCharged = 12,
            CreditsRefunded = 12,
            Progress = 0.625,
            ProgressMessage = "step 17/28",
            Checkpoint = "prediction:abc123",
            CancelRequested = true,
            DeleteRequested = true,
            Version = 7,
        };
    }

    /// <summary>Asserts that <paramref name="actual"/> holds every value of <paramref name="expected"/>.</summary>
    /// <param name="expected">The expected job.</param>
    /// <param name="actual">The job read back.</param>
    protected static void AssertSameJob(GenerationJob expected, GenerationJob actual)
    {
        Assert.Equal(expected.Request with { Parameters = null }, actual.Request with { Parameters = null });
        AssertSameParameters(expected.Request.Parameters, actual.Request.Parameters);
        Assert.Equal(expected.Outputs, actual.Outputs);
        Assert.Equal(expected.FailedOutputs, actual.FailedOutputs);

        // Record equality for every other field; the request, outputs and failed outputs were compared above.
        Assert.Equal(expected, actual with { Request = expected.Request, Outputs = expected.Outputs, FailedOutputs = expected.FailedOutputs });
        Assert.Equal(expected.OwnerId, actual.OwnerId);
    }

    private static void AssertSameParameters(IReadOnlyDictionary<string, JsonElement>? expected, IReadOnlyDictionary<string, JsonElement>? actual)
    {
        if (expected is null || expected.Count == 0)
        {
            Assert.True(actual is null || actual.Count == 0, "A request without parameters came back with some.");
            return;
        }

        Assert.NotNull(actual);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, value) in expected)
        {
            Assert.True(
                JsonElement.DeepEquals(value, actual[name]),
                $"Parameter '{name}': expected {value.GetRawText()}, got {actual[name].GetRawText()}.");
        }
    }

    private static async Task<List<GenerationJob>> ListAllAsync(IJobStore store, JobQuery query)
    {
        var all = new List<GenerationJob>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var cursor = query.Cursor;
        for (var pages = 0; pages < 1000; pages++)
        {
            var page = await store.ListAsync(query with { Cursor = cursor });
            foreach (var job in page.Items)
            {
                Assert.True(seen.Add(job.Id), $"Job {job.Id} was listed twice.");
                all.Add(job);
            }

            Assert.True(page.Items.Count <= query.Limit, $"A page of limit {query.Limit} held {page.Items.Count} jobs.");
            cursor = page.NextCursor;
            if (cursor is null)
            {
                return all;
            }
        }

        Assert.Fail("Paging did not end after 1000 pages.");
        return all;
    }
}
