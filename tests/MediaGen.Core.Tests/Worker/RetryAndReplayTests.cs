namespace MediaGen.Core.Tests.Worker;

/// <summary>
/// Retrying a finished job and replaying a dead letter, end to end through the worker on a fake clock: a new run with a
/// charge of its own, settled on its own, and a provider checkpoint kept only while it can still be resumed.
/// </summary>
public sealed class RetryAndReplayTests : IAsyncLifetime
{
    private readonly WorkerHarness _harness = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task RetryAsync_FailedJob_RunsAgainAsANewRunChargedAgainAndSucceeds()
    {
        var generator = new ScriptedGenerator("refuses-once", (ctx, ct) => ctx.Job.Run == 1
            ? throw GenerationException.Permanent("The provider refused the prompt.")
            : ValueTask.FromResult(ScriptedGenerator.TextOutputs("ok")));
        var host = await _harness.StartHostAsync(generator);
        var job = await WorkerHarness.SubmitAsync(host, generator);
        var failed = await _harness.WaitForJobAsync(job.Id, j => j.Status == JobStatus.Failed, "failed");
        Assert.Equal(WorkerHarness.InitialBalance, await _harness.Ledger.GetBalanceAsync(WorkerHarness.Owner));

        var retried = await WorkerHarness.Client(host).RetryAsync(WorkerHarness.Owner, job.Id);

        Assert.Equal((JobStatus.Pending, 2, 0, 5L, 0L), (retried.Status, retried.Run, retried.Attempt, retried.CreditsCharged, retried.CreditsRefunded));
        Assert.Null(retried.Error);
        var succeeded = await _harness.WaitForJobAsync(job.Id, j => j.Status == JobStatus.Succeeded, "succeeded");
        Assert.Equal((2, 1, 5L, 0L), (succeeded.Run, succeeded.Attempt, succeeded.CreditsCharged, succeeded.CreditsRefunded));
        Assert.Equal(WorkerHarness.InitialBalance - 5, await _harness.Ledger.GetBalanceAsync(WorkerHarness.Owner));
        Assert.Empty(await _harness.Ledger.ListOpenReservationsAsync(_harness.Time.GetUtcNow().AddDays(1), 10));
        Assert.Equal(2, generator.Calls);
        Assert.Equal(
            [JobEventType.Queued, JobEventType.Started, JobEventType.Failed, JobEventType.Retried, JobEventType.Started, JobEventType.OutputStored, JobEventType.Succeeded],
            _harness.Published.For(job.Id).Select(e => e.Type));
        Assert.True(failed.Version < succeeded.Version);
    }

    [Fact]
    public async Task RetryAsync_NewRunFailsToo_RefundsThatRunAndTheOwnerPaysNothing()
    {
        var generator = new ScriptedGenerator("refuses", (ctx, ct) => throw GenerationException.Permanent("The provider refused the prompt."));
        var host = await _harness.StartHostAsync(generator);
        var job = await WorkerHarness.SubmitAsync(host, generator);
        await _harness.WaitForJobAsync(job.Id, j => j.Status == JobStatus.Failed, "failed");

        await WorkerHarness.Client(host).RetryAsync(WorkerHarness.Owner, job.Id);
        var again = await _harness.WaitForJobAsync(job.Id, j => j is { Status: JobStatus.Failed, Run: 2 }, "failed in run 2");

        Assert.Equal(5, again.CreditsRefunded);
        Assert.Equal(WorkerHarness.InitialBalance, await _harness.Ledger.GetBalanceAsync(WorkerHarness.Owner));
        Assert.Empty(await _harness.Ledger.ListOpenReservationsAsync(_harness.Time.GetUtcNow().AddDays(1), 10));
    }

    [Fact]
    public async Task RetryAsync_JobThatSucceededOrIsStillPending_ConflictAndNothingChanges()
    {
        var generator = new ScriptedGenerator("ok", (ctx, ct) => ValueTask.FromResult(ScriptedGenerator.TextOutputs("ok")));
        var host = await _harness.StartHostAsync(generator);
        var job = await WorkerHarness.SubmitAsync(host, generator);
        var succeeded = await _harness.WaitForJobAsync(job.Id, j => j.Status == JobStatus.Succeeded, "succeeded");

        var conflict = await Assert.ThrowsAsync<InvalidJobTransitionException>(async () => await WorkerHarness.Client(host).RetryAsync(WorkerHarness.Owner, job.Id));
        await Assert.ThrowsAsync<JobNotFoundException>(async () => await WorkerHarness.Client(host).RetryAsync("mallory", job.Id));

        Assert.Equal(JobStatus.Succeeded, conflict.From);
        Assert.Equal(succeeded, await _harness.Store.GetAsync(job.Id));
        Assert.Equal(WorkerHarness.InitialBalance - 5, await _harness.Ledger.GetBalanceAsync(WorkerHarness.Owner));
    }

    [Fact]
    public async Task RetryAsync_OwnerCannotPay_ThrowsAndTheJobStaysFailed()
    {
        var generator = new ScriptedGenerator("paid-then-refused", (ctx, ct) =>
            throw new GenerationException(MediaGenErrorCodes.ContentFiltered, "The output was filtered.", isTransient: false) { IsRefundable = false }, cost: 60);
        var host = await _harness.StartHostAsync(generator);
        var job = await WorkerHarness.SubmitAsync(host, generator);
        var failed = await _harness.WaitForJobAsync(job.Id, j => j.Status == JobStatus.Failed, "failed");

        var refused = await Assert.ThrowsAsync<InsufficientCreditsException>(async () => await WorkerHarness.Client(host).RetryAsync(WorkerHarness.Owner, job.Id));

        Assert.Equal((60L, 40L), (refused.Requested, refused.Available));
        Assert.Equal(failed, await _harness.Store.GetAsync(job.Id));
        Assert.Equal(40, await _harness.Ledger.GetBalanceAsync(WorkerHarness.Owner));
        await _harness.WaitForDepthAsync(new QueueDepth(0, 0, 0, 0));
    }

    [Fact]
    public async Task RetryAsync_AfterATransientFailureWithinTheWindow_ResumesTheProviderCheckpoint()
    {
        var seen = new List<(int Run, string? Checkpoint)>();
        var generator = new ScriptedGenerator("slow-provider", async (ctx, ct) =>
        {
            lock (seen)
            {
                seen.Add((ctx.Job.Run, ctx.Job.Checkpoint));
            }

            if (ctx.Job.Run == 1)
            {
                await ctx.Checkpoint.SaveAsync("prediction-1", ct);
                throw GenerationException.Transient("The provider timed out.");
            }

            return ScriptedGenerator.TextOutputs("ok");
        });
        var host = await _harness.StartHostAsync(generator);
        var job = await WorkerHarness.SubmitAsync(host, generator);
        await _harness.AdvanceUntilJobAsync(job.Id, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), j => j.Status == JobStatus.Failed, "failed");

        _harness.Time.Advance(TimeSpan.FromMinutes(10));
        var retried = await WorkerHarness.Client(host).RetryAsync(WorkerHarness.Owner, job.Id);

        Assert.Equal("prediction-1", retried.Checkpoint);
        await _harness.WaitForJobAsync(job.Id, j => j.Status == JobStatus.Succeeded, "succeeded");
        Assert.Equal((2, "prediction-1"), seen[^1]);
    }

    [Fact]
    public async Task RetryAsync_PastTheWindowOrAfterAPermanentError_StartsTheProviderAfresh()
    {
        var generator = new ScriptedGenerator("checkpointed", async (ctx, ct) =>
        {
            await ctx.Checkpoint.SaveAsync("prediction-1", ct);
            throw ctx.Job.Request.Prompt == "permanent"
                ? GenerationException.Permanent("Refused.")
                : GenerationException.Transient("The provider timed out.");
        });
        var host = await _harness.StartHostAsync(generator);
        var client = WorkerHarness.Client(host);
        var late = await WorkerHarness.SubmitAsync(host, generator, prompt: "transient");
        await _harness.AdvanceUntilJobAsync(late.Id, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), j => j.Status == JobStatus.Failed, "failed");
        var permanent = await WorkerHarness.SubmitAsync(host, generator, prompt: "permanent");
        await _harness.WaitForJobAsync(permanent.Id, j => j.Status == JobStatus.Failed, "failed");
        await host.StopAsync();
        Assert.Equal("prediction-1", (await _harness.Store.GetAsync(permanent.Id))!.Checkpoint);

        _harness.Time.Advance(TimeSpan.FromMinutes(51));

        Assert.Null((await client.RetryAsync(WorkerHarness.Owner, late.Id)).Checkpoint);
        Assert.Null((await client.RetryAsync(WorkerHarness.Owner, permanent.Id)).Checkpoint);
    }

    [Fact]
    public async Task ReplayDeadLetterAsync_AttemptsExhausted_RerunsTheJobToSucceededAndRemovesTheDeadLetter()
    {
        var busy = true;
        var generator = new ScriptedGenerator("busy-then-ok", (ctx, ct) => Volatile.Read(ref busy)
            ? throw GenerationException.Transient("Busy.")
            : ValueTask.FromResult(ScriptedGenerator.TextOutputs("ok")));
        var host = await _harness.StartHostAsync(generator);
        var job = await WorkerHarness.SubmitAsync(host, generator);
        await _harness.AdvanceUntilJobAsync(job.Id, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), j => j.Status == JobStatus.Failed, "failed");
        await _harness.WaitForDepthAsync(new QueueDepth(0, 0, 0, 1));
        var deadLetter = Assert.Single(await _harness.Queue.ListDeadLettersAsync());
        Volatile.Write(ref busy, false);

        var replayed = await WorkerHarness.Client(host).ReplayDeadLetterAsync(deadLetter.Message.MessageId);

        Assert.Equal((JobStatus.Pending, 2), (replayed!.Status, replayed.Run));
        Assert.Empty(await _harness.Queue.ListDeadLettersAsync());
        var succeeded = await _harness.WaitForJobAsync(job.Id, j => j.Status == JobStatus.Succeeded, "succeeded");
        Assert.Equal((2, 1), (succeeded.Run, succeeded.Attempt));
        Assert.Equal(WorkerHarness.InitialBalance - 5, await _harness.Ledger.GetBalanceAsync(WorkerHarness.Owner));
        await _harness.WaitForDepthAsync(new QueueDepth(0, 0, 0, 0));

        // The dead letter is gone: a second replay finds nothing and changes nothing.
        Assert.Null(await WorkerHarness.Client(host).ReplayDeadLetterAsync(deadLetter.Message.MessageId));
        Assert.Equal(succeeded, await _harness.Store.GetAsync(job.Id));
    }

    [Fact]
    public async Task ReplayDeadLetterAsync_JobRetriedAlready_RemovesTheDeadLetterWithoutAnotherRun()
    {
        var generator = new ScriptedGenerator("always-busy", (ctx, ct) => throw GenerationException.Transient("Busy."));
        var host = await _harness.StartHostAsync(generator);
        var job = await WorkerHarness.SubmitAsync(host, generator);
        await _harness.AdvanceUntilJobAsync(job.Id, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), j => j.Status == JobStatus.Failed, "failed");
        await _harness.WaitForDepthAsync(new QueueDepth(0, 0, 0, 1));
        await host.StopAsync();
        await WorkerHarness.Client(host).RetryAsync(WorkerHarness.Owner, job.Id);

        var replayed = await WorkerHarness.Client(host).ReplayDeadLetterAsync(job.Id);

        Assert.Equal((JobStatus.Pending, 2), (replayed!.Status, replayed.Run));
        Assert.Empty(await _harness.Queue.ListDeadLettersAsync());
        Assert.Equal(WorkerHarness.InitialBalance - 5, await _harness.Ledger.GetBalanceAsync(WorkerHarness.Owner));
        Assert.Equal(new QueueDepth(1, 0, 0, 0), await _harness.Queue.GetDepthAsync());
    }

    [Fact]
    public async Task CancelSignal_HeardForTheFirstRunJustBeforeARetry_DoesNotStopTheNewRun()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var generator = new ScriptedGenerator("cancel-then-ok", async (ctx, ct) =>
        {
            if (ctx.Job.Run == 1)
            {
                started.TrySetResult();
                await Task.Delay(Timeout.InfiniteTimeSpan, ctx.JobAborted);
            }

            return ScriptedGenerator.TextOutputs("ok");
        });
        var host = await _harness.StartHostAsync(generator);
        var client = WorkerHarness.Client(host);
        var job = await WorkerHarness.SubmitAsync(host, generator);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await client.CancelAsync(WorkerHarness.Owner, job.Id);
        await _harness.WaitForJobAsync(job.Id, j => j.Status == JobStatus.Canceled, "canceled");

        // The first run's signal arrives again (a late duplicate from the transport) just before the retry runs.
        await _harness.CancelSignal.PublishAsync(job.Id);
        await client.RetryAsync(WorkerHarness.Owner, job.Id);

        var succeeded = await _harness.WaitForJobAsync(job.Id, j => j.Status.IsTerminal(), "finished");
        Assert.Equal((JobStatus.Succeeded, 2), (succeeded.Status, succeeded.Run));
        Assert.Equal(WorkerHarness.InitialBalance - 5, await _harness.Ledger.GetBalanceAsync(WorkerHarness.Owner));
    }

    [Fact]
    public async Task Sweeper_ReservationOfARunThatWasNeverWritten_IsRefundedInFull()
    {
        var generator = new ScriptedGenerator("refuses", (ctx, ct) => throw GenerationException.Permanent("Refused."));
        var host = await _harness.StartHostAsync(generator, worker: o =>
        {
            o.SweepInterval = TimeSpan.FromMinutes(1);
            o.StalePendingAfter = TimeSpan.FromMinutes(5);
        });
        var job = await WorkerHarness.SubmitAsync(host, generator);
        await _harness.WaitForJobAsync(job.Id, j => j.Status == JobStatus.Failed, "failed");

        // What a composed backend's retry that crashed between reserving run 2 and writing it leaves behind.
        await _harness.Ledger.ReserveAsync(WorkerHarness.Owner, GenerationJob.FormatRunId(job.Id, 2), 5);
        Assert.Equal(WorkerHarness.InitialBalance - 5, await _harness.Ledger.GetBalanceAsync(WorkerHarness.Owner));

        // Past the stale period the sweeper finds it: the job is in another run, so nothing will ever settle it but the sweeper.
        var giveUpAt = _harness.Time.GetUtcNow() + TimeSpan.FromMinutes(10);
        while ((await _harness.Ledger.ListOpenReservationsAsync(_harness.Time.GetUtcNow().AddDays(1), 10)).Count > 0)
        {
            Assert.True(_harness.Time.GetUtcNow() < giveUpAt, "The sweeper did not settle the reservation of run 2 within 10 minutes.");
            await _harness.AdvanceAsync(TimeSpan.FromSeconds(30));
        }

        Assert.True(_harness.Time.GetUtcNow() - job.CreatedAt >= TimeSpan.FromMinutes(5), "The reservation was settled before it was stale.");
        Assert.Equal(WorkerHarness.InitialBalance, await _harness.Ledger.GetBalanceAsync(WorkerHarness.Owner));
        Assert.Equal((JobStatus.Failed, 1), ((await _harness.Store.GetAsync(job.Id))!.Status, (await _harness.Store.GetAsync(job.Id))!.Run));
    }
}
