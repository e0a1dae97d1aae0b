using System.Text.Json.Nodes;

namespace MediaGen.Generators.Replicate.Tests;

/// <summary>
/// A prediction is paid for once per job: Replicate takes no idempotency key, so a create whose answer is lost (a dropped
/// connection, a gateway error, a worker that died during the call) is looked up among recent predictions by its exact
/// input before anything is created again. The fake counts what the account pays for.
/// </summary>
public sealed class ReplicatePaidOnceTests : FakeServerTests<FakeReplicateServer>
{
    protected override Task<FakeReplicateServer> StartServerAsync() => FakeReplicateServer.StartAsync();

    [Fact]
    public async Task GenerateAsync_CreateAnswerDroppedAfterThePredictionWasMade_AdoptsItAndPaysOnce()
    {
        Server.DropCreateResponses = 1;
        var generator = TestSupport.Generator(Server, Http);
        var checkpoint = new RecordingCheckpointSink();

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(), checkpoint));

        Assert.Single(result.Outputs);
        Assert.Equal(1, Server.CreateCalls);
        Assert.Equal(1, Server.PredictionsCreated);
        Assert.Equal(1, Server.ListCalls);
        Assert.Equal("pred0001fake", TestSupport.SavedPrediction(checkpoint));
        Assert.Equal(FakeReplicateServer.OutputBytes("pred0001fake", 0, Server.OutputSize), await GeneratedOutputs.ReadAllAsync(result.Outputs[0]));
    }

    [Theory]
    [InlineData(502)]
    [InlineData(504)]
    [InlineData(500)]
    public async Task GenerateAsync_ServerErrorAfterThePredictionWasMade_AdoptsItAndPaysOnce(int status)
    {
        Server.FailAfterCreate.Enqueue(status);
        var generator = TestSupport.Generator(Server, Http);

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job()));

        Assert.Single(result.Outputs);
        Assert.Equal(1, Server.CreateCalls);
        Assert.Equal(1, Server.PredictionsCreated);
    }

    [Fact]
    public async Task GenerateAsync_WorkerDiesWhileTheCreateIsInFlight_NextAttemptFindsThePredictionAndPaysOnce()
    {
        Server.CreateGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var generator = TestSupport.Generator(Server, Http);
        var checkpoint = new RecordingCheckpointSink();
        var job = TestSupport.Job();
        using var process = new CancellationTokenSource();

        // The process dies with the create in flight: Replicate made the prediction, nobody ever reads the answer.
        var run = generator.GenerateAsync(TestSupport.Context(generator, job, checkpoint), process.Token).AsTask();
        await Server.CreateReceived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        process.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Server.CreateGate.SetResult();
        var mark = Assert.Single(checkpoint.Saved);
        Assert.True(TestSupport.IsCreateMark(mark), $"Saved '{mark}' instead of a create mark.");

        var restarted = TestSupport.Generator(Server, Http);
        var resumed = new RecordingCheckpointSink();
        var result = await restarted.GenerateAsync(TestSupport.Context(restarted, job with { Checkpoint = mark, Attempt = 2 }, resumed));

        Assert.Single(result.Outputs);
        Assert.Equal(1, Server.CreateCalls);
        Assert.Equal(1, Server.PredictionsCreated);
        Assert.Equal("pred0001fake", Assert.Single(resumed.Saved));
    }

    [Fact]
    public async Task GenerateAsync_CreateHeldByAProviderPauseThenItsAnswerIsLost_MarksTheSendAndFindsThePrediction()
    {
        // Another worker's 429 paused the provider; the create leaves 10 minutes after the attempt asked for it, and its
        // answer is lost. The mark and the look-up window start when it left, so the prediction is found, not bought twice.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 6, 0, 0, TimeSpan.Zero));
        Server.Clock = time;
        Server.DropCreateResponses = 1;
        var generator = TestSupport.Generator(Server, Http, o => o.PreferWaitSeconds = 1, time);
        await generator.Gate.PauseAsync(generator.Name, TimeSpan.FromMinutes(10));
        var checkpoint = new RecordingCheckpointSink();

        var run = generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(), checkpoint)).AsTask();
        await Until(() => generator.Gate.WaiterCount == 1);
        time.Advance(TimeSpan.FromMinutes(10));
        var result = await run.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Single(result.Outputs);
        Assert.Equal(1, Server.PredictionsCreated);
        Assert.Equal(ReplicateCheckpoint.Creating(time.GetUtcNow()), Assert.Single(checkpoint.Saved, TestSupport.IsCreateMark));
        Assert.Equal("pred0001fake", TestSupport.SavedPrediction(checkpoint));
    }

    [Fact]
    public async Task GenerateAsync_CreateMarkedButNeverReceived_CreatesOnePredictionAfterTheLookUp()
    {
        var generator = TestSupport.Generator(Server, Http);
        var checkpoint = new RecordingCheckpointSink();
        var mark = ReplicateCheckpoint.Creating(DateTimeOffset.UtcNow.AddSeconds(-30));

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(checkpoint: mark, attempt: 2), checkpoint));

        Assert.Single(result.Outputs);
        Assert.Equal(1, Server.ListCalls);
        Assert.Equal(1, Server.PredictionsCreated);
        Assert.Equal("pred0001fake", TestSupport.SavedPrediction(checkpoint));
    }

    [Fact]
    public async Task GenerateAsync_UnconfirmedCreateNotListedAndPolicyIsFail_FailsOutcomeUnknownWithoutASecondCreate()
    {
        Server.Inject("create", 502, "Bad gateway");
        var generator = TestSupport.Generator(Server, Http, o => o.UnconfirmedCreate = ReplicateRecreatePolicy.Fail);

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());

        Assert.Equal(MediaGenErrorCodes.OutcomeUnknown, error.ErrorCode);
        Assert.False(error.IsTransient);
        Assert.True(error.IsRefundable);
        Assert.Equal(1, Server.CreateCalls);
        Assert.Equal(1, Server.ListCalls);
        Assert.Equal(0, Server.PredictionsCreated);
    }

    [Fact]
    public async Task GenerateAsync_CreateMarkedAndPolicyIsFail_FailsWhenTheLookUpFindsNothing()
    {
        var generator = TestSupport.Generator(Server, Http, o => o.UnconfirmedCreate = ReplicateRecreatePolicy.Fail);
        var mark = ReplicateCheckpoint.Creating(DateTimeOffset.UtcNow.AddSeconds(-30));

        var error = await Assert.ThrowsAsync<GenerationException>(
            () => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(checkpoint: mark, attempt: 2))).AsTask());

        Assert.Equal(MediaGenErrorCodes.OutcomeUnknown, error.ErrorCode);
        Assert.Equal(0, Server.CreateCalls);
    }

    [Fact]
    public async Task GenerateAsync_LostCreateAmongManyPredictionsWithTheSamePrompt_FindsItsOwnOnALaterPage()
    {
        // Other jobs asked for the same prompt and settings moments later; each job's input differs by the seed MediaGen
        // derives from its id, so only this job's prediction matches. Listed newest first, three a page, it is on the third.
        var generator = TestSupport.Generator(Server, Http);
        var job = TestSupport.Job();
        var model = ReplicateModelCatalog.Build(TestSupport.Options(Server), out _)["flux-schnell"];
        foreach (var other in Enumerable.Range(0, 7).Select(_ => TestSupport.Job()))
        {
            var seeded = Server.Seed("processing", input: ReplicateGenerator.WithJobSeed(ReplicateGenerator.BuildInput(model, other.Request), model, other.Id));
            seeded.CreatedAt = DateTimeOffset.UtcNow.AddSeconds(10);
        }

        Server.ListPageSize = 3;
        Server.DropCreateResponses = 1;
        var checkpoint = new RecordingCheckpointSink();

        var result = await generator.GenerateAsync(TestSupport.Context(generator, job, checkpoint));

        Assert.Single(result.Outputs);
        Assert.Equal(1, Server.PredictionsCreated);
        Assert.Equal(3, Server.ListCalls);
        Assert.Equal("pred0008fake", TestSupport.SavedPrediction(checkpoint));
    }

    [Fact]
    public async Task GenerateAsync_UnconfirmedCreateLookUpFindsAnEarlierCanceledPredictionOfTheJob_PassesOverItAndCreates()
    {
        // An earlier attempt's prediction, canceled when its id could not be saved, has this job's exact input.
        var generator = TestSupport.Generator(Server, Http);
        var job = TestSupport.Job();
        var model = ReplicateModelCatalog.Build(TestSupport.Options(Server), out _)["flux-schnell"];
        var canceled = Server.Seed("canceled", input: ReplicateGenerator.WithJobSeed(ReplicateGenerator.BuildInput(model, job.Request), model, job.Id));
        Server.Inject("create", 502, "Bad gateway");
        var checkpoint = new RecordingCheckpointSink();

        var result = await generator.GenerateAsync(TestSupport.Context(generator, job, checkpoint));

        Assert.Single(result.Outputs);
        Assert.Equal(1, Server.PredictionsCreated);
        Assert.DoesNotContain(canceled.Id, checkpoint.Saved);
        Assert.NotEqual(canceled.Id, TestSupport.SavedPrediction(checkpoint));
    }

    [Fact]
    public async Task GenerateAsync_UnconfirmedCreateOfALaterRun_DoesNotMatchTheEarlierRunsPrediction()
    {
        // The owner pressed retry: run 2 sends a seed of its own, so run 1's prediction (still listed) is not its input.
        var generator = TestSupport.Generator(Server, Http, o => o.UnconfirmedCreate = ReplicateRecreatePolicy.Fail);
        var job = TestSupport.Job() with { Run = 2 };
        var model = ReplicateModelCatalog.Build(TestSupport.Options(Server), out _)["flux-schnell"];
        var firstRun = Server.Seed("succeeded", input: ReplicateGenerator.WithJobSeed(ReplicateGenerator.BuildInput(model, job.Request), model, job.Id, run: 1));
        Server.Inject("create", 502, "Bad gateway");
        var checkpoint = new RecordingCheckpointSink();

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, job, checkpoint)).AsTask());

        Assert.Equal(MediaGenErrorCodes.OutcomeUnknown, error.ErrorCode);
        Assert.DoesNotContain(firstRun.Id, checkpoint.Saved);
        Assert.NotEqual(
            ReplicateGenerator.WithJobSeed(ReplicateGenerator.BuildInput(model, job.Request), model, job.Id, run: 1)["seed"]!.GetValue<int>(),
            ReplicateGenerator.WithJobSeed(ReplicateGenerator.BuildInput(model, job.Request), model, job.Id, run: 2)["seed"]!.GetValue<int>());
    }

    [Fact]
    public async Task GenerateAsync_UnconfirmedCreateLookUpFindsAnotherJobsPredictionWithTheSameExplicitSeed_FailsOutcomeUnknownWithoutAdoptingIt()
    {
        // Two jobs (any owners) send the same prompt, settings and explicit seed: a listed match cannot be told apart.
        Server.PollsUntilDone = 1000;
        var generator = TestSupport.Generator(Server, Http);
        var settings = new GenerationSettings { Seed = 42 };
        var jobA = TestSupport.Job(settings: settings);
        var jobB = TestSupport.Job(settings: settings);
        var model = ReplicateModelCatalog.Build(TestSupport.Options(Server), out _)["flux-schnell"];
        var predictionOfA = Server.Seed("processing", input: ReplicateGenerator.WithJobSeed(ReplicateGenerator.BuildInput(model, jobA.Request), model, jobA.Id));
        Server.Inject("create", 502, "Bad gateway");
        using var ownerOfBCancels = new CancellationTokenSource();
        var progress = new RecordingProgress { OnReport = _ => ownerOfBCancels.Cancel() };
        var checkpoint = new RecordingCheckpointSink();

        var error = await Assert.ThrowsAsync<GenerationException>(
            () => generator.GenerateAsync(TestSupport.Context(generator, jobB, checkpoint, progress, ownerOfBCancels.Token)).AsTask());

        Assert.Equal(MediaGenErrorCodes.OutcomeUnknown, error.ErrorCode);
        Assert.False(error.IsTransient);
        Assert.NotEqual("canceled", predictionOfA.Status);
        Assert.DoesNotContain(predictionOfA.Id, checkpoint.Saved);
        Assert.Equal(0, Server.PredictionsCreated);
    }

    [Fact]
    public async Task GenerateAsync_UnconfirmedCreateWithAnExplicitSeedAndNothingListed_CreatesAgain()
    {
        var generator = TestSupport.Generator(Server, Http);
        Server.Inject("create", 502, "Bad gateway");

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(settings: new GenerationSettings { Seed = 42 })));

        Assert.Single(result.Outputs);
        Assert.Equal(1, Server.PredictionsCreated);
        Assert.Equal(1, Server.ListCalls);
    }

    [Fact]
    public async Task GenerateAsync_RequestWithoutSeed_SendsOneDerivedFromTheJobSoEveryJobsInputDiffers()
    {
        var generator = TestSupport.Generator(Server, Http);
        var first = TestSupport.Job();
        var second = TestSupport.Job();

        await generator.GenerateAsync(TestSupport.Context(generator, first));
        await generator.GenerateAsync(TestSupport.Context(generator, first with { Attempt = 2 }));
        await generator.GenerateAsync(TestSupport.Context(generator, second));

        var seeds = Server.CreateBodies.Select(b => b["input"]!["seed"]!.GetValue<int>()).ToArray();
        Assert.Equal(seeds[0], seeds[1]);
        Assert.NotEqual(seeds[0], seeds[2]);
    }

    [Fact]
    public async Task GenerateAsync_JobWithADeadline_SendsCancelAfterForTheTimeLeftInWholeSeconds()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 6, 0, 0, TimeSpan.Zero));
        Server.Clock = time;
        var generator = TestSupport.Generator(Server, Http, o => o.PreferWaitSeconds = 60, time);

        await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(deadline: time.GetUtcNow().AddSeconds(94.2))));
        await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(deadline: time.GetUtcNow().AddSeconds(2))));
        await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job()));

        Assert.Equal(["95s", "5s"], Server.CancelAfterHeaders);
        Assert.Equal(time.GetUtcNow().AddSeconds(95), Server.Find("pred0001fake")!.Deadline);
        Assert.Null(Server.Find("pred0003fake")!.Deadline);
    }

    [Theory]
    [InlineData(4.0, "5s")]
    [InlineData(5.0, "5s")]
    [InlineData(59.001, "60s")]
    [InlineData(3600.0, "3600s")]
    [InlineData(-10.0, "5s")]
    public void FormatCancelAfter_AnyTimeLeft_IsWholeSecondsOfAtLeastFive(double seconds, string expected) =>
        Assert.Equal(expected, ReplicateApiClient.FormatCancelAfter(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public async Task GenerateAsync_PreferWaitWindowEndsBeforeThePrediction_PollsUntilItEnds()
    {
        Server.PollsUntilDone = 4;
        Server.WaitWindowSteps = 2;
        var generator = TestSupport.Generator(Server, Http, o => o.PreferWaitSeconds = 5);
        var progress = new RecordingProgress();

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(), progress: progress));

        Assert.Single(result.Outputs);
        Assert.Equal("wait=5", Assert.Single(Server.PreferHeaders));
        Assert.Equal(2, Server.GetCalls);
        Assert.Contains(progress.Reports, r => r.Message == "step 2/4");
        Assert.Equal(1, Server.PredictionsCreated);
    }

    [Fact]
    public void JsonEquals_NumbersByValueAndPropertiesInAnyOrder_MatchWhatWasSent()
    {
        var sent = new JsonObject { ["prompt"] = "a", ["guidance"] = 3.5, ["num_outputs"] = 1, ["go_fast"] = true, ["list"] = new JsonArray(1, 2) };
        using var same = System.Text.Json.JsonDocument.Parse("""{"num_outputs":1.0,"go_fast":true,"list":[1,2],"guidance":3.50,"prompt":"a"}""");
        using var other = System.Text.Json.JsonDocument.Parse("""{"num_outputs":2,"go_fast":true,"list":[1,2],"guidance":3.5,"prompt":"a"}""");
        using var extra = System.Text.Json.JsonDocument.Parse("""{"num_outputs":1,"go_fast":true,"list":[1,2],"guidance":3.5,"prompt":"a","seed":1}""");

        Assert.True(ReplicateGenerator.JsonEquals(sent, same.RootElement));
        Assert.False(ReplicateGenerator.JsonEquals(sent, other.RootElement));
        Assert.False(ReplicateGenerator.JsonEquals(sent, extra.RootElement));
    }

    // The create's task reaching the gate is the thread pool's progress, not the fake clock's: polled, within Waits.Limit.
    private static async Task Until(Func<bool> condition)
    {
        using var limit = new CancellationTokenSource(Waits.Limit);
        while (!condition())
        {
            Assert.False(limit.IsCancellationRequested, "Timed out waiting for the create to wait at the gate.");
            await Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System);
        }
    }
}
