namespace MediaGen.Core.Tests.Submission;

public sealed class MediaGenerationClientTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly ScriptedGenerator _generator = new("unit", (_, _) => ValueTask.FromResult(new GenerationResult([])), cost: 10);
    private readonly IJobQueue _queue = Substitute.For<IJobQueue>();
    private readonly IJobCancelSignal _cancelSignal = Substitute.For<IJobCancelSignal>();
    private readonly ServiceProvider _services;

    public MediaGenerationClientTests()
    {
        _services = new ServiceCollection()
            .AddSingleton<TimeProvider>(_time)
            .AddMediaGeneration(o => o.JobDeadline = TimeSpan.FromMinutes(30))
            .UseQueue(_ => _queue)
            .UseCancelSignal(_ => _cancelSignal)
            .ConfigureCredits(o => o.InitialBalance = 25)
            .AddGenerator(_generator)
            .Services.BuildServiceProvider();
    }

    private IMediaGenerationClient Client => _services.GetRequiredService<IMediaGenerationClient>();

    private IJobStore Store => _services.GetRequiredService<IJobStore>();

    private ICreditLedger Ledger => _services.GetRequiredService<ICreditLedger>();

    public void Dispose() => _services.Dispose();

    private GenerationRequest Request(string owner = "alice", string? key = null, string prompt = "a fox") =>
        new() { Prompt = prompt, Model = _generator.ModelId, OwnerId = owner, IdempotencyKey = key };

    [Fact]
    public async Task SubmitAsync_Valid_WritesReservesAndEnqueuesWithDeadline()
    {
        var result = await Client.SubmitAsync(Request());

        Assert.True(result.Created);
        Assert.Equal(JobStatus.Pending, result.Job.Status);
        Assert.Equal(10, result.Job.CreditsCharged);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromMinutes(30), result.Job.Deadline);
        Assert.Equal(15, await Ledger.GetBalanceAsync("alice"));
        Assert.NotNull(await Store.GetAsync(result.Job.Id));
        await _queue.Received(1).EnqueueAsync(Arg.Is<QueueMessage>(m => m.JobId == result.Job.Id), Arg.Any<EnqueueOptions?>(), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task SubmitAsync_SeveralOutputs_ChargesTheCostOfEachOutput()
    {
        var result = await Client.SubmitAsync(Request() with { Settings = new GenerationSettings { OutputCount = 2 } });

        Assert.Equal(20, result.Job.CreditsCharged);
        Assert.Equal(5, await Ledger.GetBalanceAsync("alice"));
        Assert.Equal(20, (await Ledger.ListOpenReservationsAsync(_time.GetUtcNow().AddMinutes(1), 10)).Single().Amount);
    }

    [Fact]
    public async Task SubmitAsync_BalanceCoversSomeOutputsButNotAll_ThrowsForTheWholeJobAndLeavesNothing()
    {
        var e = await Assert.ThrowsAsync<InsufficientCreditsException>(() =>
            Client.SubmitAsync(Request() with { Settings = new GenerationSettings { OutputCount = 3 } }).AsTask());

        Assert.Equal(30, e.Requested);
        Assert.Equal(25, e.Available);
        Assert.Equal(25, await Ledger.GetBalanceAsync("alice"));
        Assert.Empty((await Store.ListAsync(new JobQuery { OwnerId = "alice" })).Items);
        await _queue.DidNotReceive().EnqueueAsync(Arg.Any<QueueMessage>(), Arg.Any<EnqueueOptions?>(), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task SubmitAsync_FreeModel_ChargesNothingForAnyNumberOfOutputs()
    {
        var free = new ScriptedGenerator("free", (_, _) => ValueTask.FromResult(new GenerationResult([])), cost: 0);
        using var services = new ServiceCollection()
            .AddSingleton<TimeProvider>(_time)
            .AddMediaGeneration()
            .UseQueue(_ => _queue)
            .ConfigureCredits(o => o.InitialBalance = 0)
            .AddGenerator(free)
            .Services.BuildServiceProvider();

        var result = await services.GetRequiredService<IMediaGenerationClient>().SubmitAsync(
            new GenerationRequest { Prompt = "a fox", Model = free.ModelId, OwnerId = "alice", Settings = new GenerationSettings { OutputCount = 4 } });

        Assert.Equal(0, result.Job.CreditsCharged);
        Assert.Equal(0, await services.GetRequiredService<ICreditLedger>().GetBalanceAsync("alice"));
    }

    [Fact]
    public async Task SubmitAsync_SameIdempotencyKey_ReturnsSameJobAndChargesOnce()
    {
        var first = await Client.SubmitAsync(Request(key: "k"));
        var second = await Client.SubmitAsync(Request(key: "k"));

        Assert.False(second.Created);
        Assert.Equal(first.Job.Id, second.Job.Id);
        Assert.Equal(15, await Ledger.GetBalanceAsync("alice"));
        await _queue.Received(1).EnqueueAsync(Arg.Any<QueueMessage>(), Arg.Any<EnqueueOptions?>(), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task SubmitAsync_KeyReusedForOtherWork_ThrowsConflict()
    {
        var first = await Client.SubmitAsync(Request(key: "k"));
        var e = await Assert.ThrowsAsync<IdempotencyKeyReusedException>(() => Client.SubmitAsync(Request(key: "k", prompt: "a wolf")).AsTask());
        Assert.Equal(first.Job.Id, e.ExistingJobId);
    }

    [Fact]
    public async Task SubmitAsync_InsufficientCredits_ThrowsAndLeavesNothing()
    {
        await Client.SubmitAsync(Request());
        await Client.SubmitAsync(Request());

        var e = await Assert.ThrowsAsync<InsufficientCreditsException>(() => Client.SubmitAsync(Request(key: "third")).AsTask());

        Assert.Equal(5, e.Available);
        Assert.Equal(5, await Ledger.GetBalanceAsync("alice"));
        var page = await Store.ListAsync(new JobQuery { OwnerId = "alice" });
        Assert.Equal(2, page.Items.Count);
        await _queue.Received(2).EnqueueAsync(Arg.Any<QueueMessage>(), Arg.Any<EnqueueOptions?>(), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task SubmitAsync_EnqueueFails_JobFailedRefundedAndTypedError()
    {
        _queue.EnqueueAsync(Arg.Any<QueueMessage>(), Arg.Any<EnqueueOptions?>(), Arg.Any<CancellationToken>())
            .Returns(ValueTask.FromException(new IOException("connection reset")));

        var e = await Assert.ThrowsAsync<QueueUnavailableException>(() => Client.SubmitAsync(Request()).AsTask());

        Assert.IsType<IOException>(e.InnerException);
        var job = Assert.Single((await Store.ListAsync(new JobQuery { OwnerId = "alice" })).Items);
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(MediaGenErrorCodes.EnqueueFailed, job.Error!.Code);
        Assert.Equal(10, job.CreditsRefunded);
        Assert.Equal(25, await Ledger.GetBalanceAsync("alice"));
    }

    [Theory]
    [InlineData("", "prompt")]
    [InlineData("   ", "prompt")]
    [InlineData(null, "model")]
    public async Task SubmitAsync_Invalid_ThrowsWithFieldErrors(string? prompt, string field)
    {
        var request = prompt is null ? Request() with { Model = "nope" } : Request(prompt: prompt);
        var e = await Assert.ThrowsAsync<RequestValidationException>(() => Client.SubmitAsync(request).AsTask());
        Assert.Contains(field, e.Errors.Keys);
        Assert.Equal(25, await Ledger.GetBalanceAsync("alice"));
    }

    [Fact]
    public async Task SubmitAsync_PromptOfMaxLength_AcceptedOneMoreRefused()
    {
        await Client.SubmitAsync(Request(prompt: new string('x', GenerationRequest.MaxPromptLength)));
        var e = await Assert.ThrowsAsync<RequestValidationException>(() => Client.SubmitAsync(Request(prompt: new string('x', GenerationRequest.MaxPromptLength + 1))).AsTask());
        Assert.Contains("2000", e.Errors["prompt"][0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitAsync_BadWebhookAndKey_Refused()
    {
        var request = Request() with { WebhookUrl = new Uri("/relative", UriKind.Relative), IdempotencyKey = new string('k', 300) };
        var e = await Assert.ThrowsAsync<RequestValidationException>(() => Client.SubmitAsync(request).AsTask());
        Assert.Contains("webhookUrl", e.Errors.Keys);
        Assert.Contains("idempotencyKey", e.Errors.Keys);
    }

    [Fact]
    public async Task GetAsync_OtherOwnersJob_NotFound()
    {
        var job = (await Client.SubmitAsync(Request())).Job;
        await Assert.ThrowsAsync<JobNotFoundException>(() => Client.GetAsync("mallory", job.Id).AsTask());
        await Assert.ThrowsAsync<JobNotFoundException>(() => Client.CancelAsync("mallory", job.Id).AsTask());
        await Assert.ThrowsAsync<JobNotFoundException>(() => Client.DeleteAsync("mallory", job.Id).AsTask());
        Assert.Equal(job.Id, (await Client.GetAsync("alice", job.Id)).Id);
    }

    [Fact]
    public async Task CancelAsync_Pending_CanceledAndRefundedOnce()
    {
        var job = (await Client.SubmitAsync(Request())).Job;

        var canceled = await Client.CancelAsync("alice", job.Id);
        var again = await Client.CancelAsync("alice", job.Id);

        Assert.Equal(JobStatus.Canceled, canceled.Status);
        Assert.Equal(10, canceled.CreditsRefunded);
        Assert.Equal(canceled.Version, again.Version);
        Assert.Equal(25, await Ledger.GetBalanceAsync("alice"));
        await _cancelSignal.DidNotReceiveWithAnyArgs().PublishAsync(default!, default);
    }

    [Fact]
    public async Task CancelAsync_Processing_SetsCancelRequested()
    {
        var job = (await Client.SubmitAsync(Request())).Job;
        var lifecycle = _services.GetRequiredService<JobLifecycle>();
        await lifecycle.ApplyAsync(job, 0, static (j, _, s) => new Step(j with { Status = JobStatus.Processing, Attempt = 1, UpdatedAt = s.At, Version = s.Version }, default));

        var result = await Client.CancelAsync("alice", job.Id);

        Assert.Equal(JobStatus.Processing, result.Status);
        Assert.True(result.CancelRequested);
        Assert.Equal(15, await Ledger.GetBalanceAsync("alice"));
        await _cancelSignal.Received(1).PublishAsync(job.Id, Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task CancelAsync_ProcessingAndTheSignalCannotBeSent_TheCancelStaysRecordedForTheLeaseRenewal()
    {
        _cancelSignal.PublishAsync(default!, default).ReturnsForAnyArgs(ValueTask.FromException(new QueueUnavailableException("Redis is down.")));
        var job = (await Client.SubmitAsync(Request())).Job;
        var lifecycle = _services.GetRequiredService<JobLifecycle>();
        await lifecycle.ApplyAsync(job, 0, static (j, _, s) => new Step(j with { Status = JobStatus.Processing, Attempt = 1, UpdatedAt = s.At, Version = s.Version }, default));

        var result = await Client.CancelAsync("alice", job.Id);
        var again = await Client.CancelAsync("alice", job.Id);

        Assert.True(result.CancelRequested);
        Assert.Equal(result.Version, again.Version);
        Assert.True((await Store.GetAsync(job.Id))!.CancelRequested);
        await _cancelSignal.Received(2).PublishAsync(job.Id, Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task DeleteAsync_PendingJob_ConflictAndKept()
    {
        var job = (await Client.SubmitAsync(Request())).Job;
        await Assert.ThrowsAsync<InvalidJobTransitionException>(() => Client.DeleteAsync("alice", job.Id).AsTask());
        Assert.NotNull(await Store.GetAsync(job.Id));

        await Client.CancelAsync("alice", job.Id);
        await Client.DeleteAsync("alice", job.Id);
        Assert.Null(await Store.GetAsync(job.Id));
    }

    [Fact]
    public async Task ListAsync_InvalidLimit_Refused() =>
        await Assert.ThrowsAsync<RequestValidationException>(() => Client.ListAsync(new JobQuery { OwnerId = "alice", Limit = 0 }).AsTask());

    [Fact]
    public void GetModels_ListsEveryGeneratorsModels() =>
        Assert.Equal([_generator.ModelId], Client.GetModels().Select(m => m.Id));
}
