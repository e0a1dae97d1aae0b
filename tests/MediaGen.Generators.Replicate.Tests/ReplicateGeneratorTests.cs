using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging.Testing;

namespace MediaGen.Generators.Replicate.Tests;

public sealed class ReplicateGeneratorTests : FakeServerTests<FakeReplicateServer>
{
    protected override Task<FakeReplicateServer> StartServerAsync() => FakeReplicateServer.StartAsync();

    [Fact]
    public async Task GenerateAsync_HappyPath_SavesCheckpointBeforePollingAndStreamsEveryOutput()
    {
        Server.PollsUntilDone = 2;
        var generator = TestSupport.Generator(Server, Http);
        var getsWhenSaved = -1;
        var createsWhenMarked = -1;
        var checkpoint = new RecordingCheckpointSink
        {
            OnSaved = s =>
            {
                if (TestSupport.IsCreateMark(s))
                {
                    createsWhenMarked = Server.CreateCalls;
                }
                else
                {
                    getsWhenSaved = Server.GetCalls;
                }
            },
        };

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(settings: new GenerationSettings { OutputCount = 2 }), checkpoint));

        var id = TestSupport.SavedPrediction(checkpoint);
        Assert.Equal(0, createsWhenMarked);
        Assert.True(TestSupport.IsCreateMark(checkpoint.Saved.First()), "The create was not marked on the job before it was sent.");
        Assert.Equal(0, getsWhenSaved);
        Assert.Equal(1, Server.PredictionsCreated);
        Assert.Equal(2, result.Outputs.Count);
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal("image/webp", result.Outputs[i].ContentType);
            Assert.Equal(FakeReplicateServer.OutputBytes(id, i, Server.OutputSize), await GeneratedOutputs.ReadAllAsync(result.Outputs[i]));
        }

        Assert.Empty(result.FailedOutputs);
        var body = Assert.Single(Server.CreateBodies);
        Assert.Equal(TestSupport.Prompt, body["input"]!["prompt"]!.GetValue<string>());
        Assert.Equal(2, body["input"]!["num_outputs"]!.GetValue<int>());
        Assert.Null(body["version"]);
    }

    [Fact]
    public async Task GenerateAsync_OutputCountUnset_AsksForOneOutputWhateverTheModelsDefault()
    {
        Server.OutputCount = 4;
        var generator = TestSupport.Generator(Server, Http);

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job()));

        Assert.Single(result.Outputs);
        Assert.Equal(1, Assert.Single(Server.CreateBodies)["input"]!["num_outputs"]!.GetValue<int>());
    }

    [Fact]
    public async Task GenerateAsync_FewerOutputsThanAsked_ReportsTheMissingOnesFailedInsteadOfFailing()
    {
        Server.OutputLimit = 2;
        var generator = TestSupport.Generator(Server, Http);
        var checkpoint = new RecordingCheckpointSink();

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(settings: new GenerationSettings { OutputCount = 4 }), checkpoint));

        var id = TestSupport.SavedPrediction(checkpoint);
        Assert.Equal(2, result.Outputs.Count);
        Assert.Equal([0, 1], result.GetOutputIndexes());
        Assert.Equal(FakeReplicateServer.OutputBytes(id, 1, Server.OutputSize), await GeneratedOutputs.ReadAllAsync(result.Outputs[1]));
        Assert.Equal([2, 3], result.FailedOutputs.Select(f => f.Index));
        Assert.All(result.FailedOutputs, f => Assert.Equal(MediaGenErrorCodes.OutputMissing, f.Code));
        Assert.Contains("returned 2 of the 4 outputs", result.FailedOutputs[0].Message, StringComparison.Ordinal);
        Assert.Equal(1, Server.PredictionsCreated);
    }

    [Fact]
    public async Task GenerateAsync_AnOutputCannotBeRead_ReportsThatOutputFailedAndKeepsTheOthers()
    {
        Server.BrokenOutputs.Add(1);
        var generator = TestSupport.Generator(Server, Http);
        var checkpoint = new RecordingCheckpointSink();

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(settings: new GenerationSettings { OutputCount = 3 }), checkpoint));

        var id = TestSupport.SavedPrediction(checkpoint);
        Assert.Equal([0, 2], result.GetOutputIndexes());
        Assert.Equal(FakeReplicateServer.OutputBytes(id, 2, Server.OutputSize), await GeneratedOutputs.ReadAllAsync(result.Outputs[1]));
        var failure = Assert.Single(result.FailedOutputs);
        Assert.Equal(1, failure.Index);
        Assert.Contains("not base64", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GenerateAsync_NoOutputCanBeRead_ReturnsEveryOutputFailed()
    {
        Server.BrokenOutputs.Add(0);
        Server.BrokenOutputs.Add(1);
        var generator = TestSupport.Generator(Server, Http);

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(settings: new GenerationSettings { OutputCount = 2 })));

        Assert.Empty(result.Outputs);
        Assert.Equal([0, 1], result.FailedOutputs.Select(f => f.Index));
    }

    [Fact]
    public async Task GenerateAsync_ManyPolls_ReportsProgressFromTheLogsAndSucceeds()
    {
        Server.PollsUntilDone = 25;
        var generator = TestSupport.Generator(Server, Http);
        var progress = new RecordingProgress();

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(model: "flux-dev"), progress: progress));

        Assert.Single(result.Outputs);
        Assert.True(Server.GetCalls >= 25, $"Expected at least 25 polls, saw {Server.GetCalls}.");
        Assert.Equal(1, Server.PredictionsCreated);
        var reports = progress.Reports.ToArray();
        Assert.Contains(reports, r => r.Message == "step 12/25" && Math.Abs(r.Fraction - 0.48) < 1e-9);
        Assert.Equal(1, reports[^1].Fraction);
        Assert.True(reports.Zip(reports.Skip(1)).All(p => p.Second.Fraction >= p.First.Fraction), "Progress went backwards.");
    }

    [Fact]
    public async Task GenerateAsync_VersionedModel_CreatesThroughThePredictionsEndpointWithTheVersion()
    {
        var generator = TestSupport.Generator(Server, Http);
        var job = TestSupport.Job(model: "sdxl", settings: new GenerationSettings { Width = 768, Height = 512, OutputCount = 2 });

        var result = await generator.GenerateAsync(TestSupport.Context(generator, job));

        Assert.Equal(2, result.Outputs.Count);
        var body = Assert.Single(Server.CreateBodies);
        Assert.Equal("7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc", body["version"]!.GetValue<string>());
        Assert.Equal(768, body["input"]!["width"]!.GetValue<int>());
        Assert.Equal(2, body["input"]!["num_outputs"]!.GetValue<int>());
    }

    [Fact]
    public async Task GenerateAsync_RateLimited_PausesTheProviderForEveryJobUntilRetryAfter()
    {
        var time = new ObservedTimeProvider(new DateTimeOffset(2026, 11, 23, 6, 0, 0, TimeSpan.Zero));
        var generator = TestSupport.Generator(Server, Http, o => o.PollInitialInterval = o.PollMaxInterval = TimeSpan.Zero, time);
        Server.Inject("create", 429, "Request was throttled. Expected available in 30 seconds.", retryAfter: "30");

        var elapsed = await ProviderPauseChecks.TwoJobsWaitOutThePauseAsync(
            time, generator.Gate, () => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask(), () => Server.CreateCalls);

        Assert.True(elapsed >= TimeSpan.FromSeconds(30), $"The jobs went ahead after {elapsed}.");
        Assert.Equal(3, Server.CreateCalls);
        Assert.Equal(2, Server.PredictionsCreated);
    }

    [Fact]
    public async Task GenerateAsync_RetryAfterOfSixtyDays_PausesForADayAndLaterCallsFailRateLimitedOrWait()
    {
        // A quota that resets monthly: the pause is cut to a day, so no later call asks Task.Delay for 60 days.
        Server.Inject("create", 429, "Request was throttled.", "5184000");
        var generator = TestSupport.Generator(Server, Http);

        var first = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());
        Assert.True(first.IsRateLimited);
        Assert.Equal(ProviderRateGate.MaxPause, first.RetryAfter);

        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var second = await Record.ExceptionAsync(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job()), patience.Token).AsTask());

        Assert.True(second is OperationCanceledException or GenerationException { IsRateLimited: true }, $"Got {second}");
        Assert.Equal(0, Server.PredictionsCreated);
    }

    [Fact]
    public async Task GenerateAsync_RateLimitedWithHttpDateBeyondTheWaitLimit_ThrowsRateLimitedWithRetryAfter()
    {
        var now = new DateTimeOffset(2026, 11, 23, 6, 0, 0, TimeSpan.Zero);
        var time = new FakeTimeProvider(now);
        var generator = TestSupport.Generator(Server, Http, o => o.MaxRetryWait = TimeSpan.FromSeconds(10), time);
        Server.Inject("create", 429, "Request was throttled.", retryAfter: now.AddSeconds(45).ToString("r", CultureInfo.InvariantCulture));

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());

        Assert.True(error.IsRateLimited);
        Assert.True(error.IsTransient);
        Assert.Equal(MediaGenErrorCodes.ProviderRateLimited, error.ErrorCode);
        Assert.Equal(TimeSpan.FromSeconds(45), error.RetryAfter);
        Assert.Contains("Request was throttled.", error.Message, StringComparison.Ordinal);
        Assert.Equal(now.AddSeconds(45), await generator.Gate.GetPausedUntilAsync(ReplicateGenerator.GeneratorName));
        Assert.Equal(0, Server.PredictionsCreated);
    }

    [Fact]
    public async Task GenerateAsync_ServerErrorsThenSuccess_LooksUpEachUnconfirmedCreateAndCreatesOnePrediction()
    {
        Server.Inject("create", 500, "Internal server error");
        Server.Inject("create", 503, "Service unavailable");
        Server.Inject("get", 502, "Bad gateway");
        var generator = TestSupport.Generator(Server, Http);

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job()));

        Assert.Single(result.Outputs);
        Assert.Equal(3, Server.CreateCalls);
        Assert.Equal(2, Server.ListCalls);
        Assert.Equal(1, Server.PredictionsCreated);
    }

    [Fact]
    public async Task GenerateAsync_ServerErrorsWhilePollingOutlastTheRetries_ThrowsTransientWithRetryAfter()
    {
        var time = new FakeTimeProvider();
        var generator = TestSupport.Generator(
            Server,
            Http,
            o =>
            {
                o.MaxRetryWait = TimeSpan.FromSeconds(5);
                o.PollInitialInterval = o.PollMaxInterval = TimeSpan.Zero;
            },
            time);
        Server.PollsUntilDone = 2;
        Server.Inject("get", 503, "Model is warming up", retryAfter: "20");

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());

        Assert.True(error.IsTransient);
        Assert.False(error.IsRateLimited);
        Assert.Equal(TimeSpan.FromSeconds(20), error.RetryAfter);
        Assert.Contains("Model is warming up", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, Server.CreateCalls);
        Assert.Equal(1, Server.GetCalls);
    }

    [Theory]
    [InlineData("CUDA error: an illegal memory access was encountered", MediaGenErrorCodes.GeneratorPermanent)]
    [InlineData("All generated images contained NSFW content. Try running it again with a different prompt.", MediaGenErrorCodes.ContentFiltered)]
    public async Task GenerateAsync_PredictionFailedOnTheModelSide_IsPermanentAndKeepsTheProviderText(string providerError, string expectedCode)
    {
        Server.FailWith = providerError;
        Server.PollsUntilDone = 3;
        var generator = TestSupport.Generator(Server, Http);

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());

        Assert.False(error.IsTransient);
        Assert.Equal(expectedCode, error.ErrorCode);
        Assert.Contains(providerError, error.Message, StringComparison.Ordinal);
        Assert.Equal(1, Server.PredictionsCreated);
    }

    [Theory]
    [InlineData(401, "You did not pass a valid authentication token")]
    [InlineData(403, "You do not have permission to run this model")]
    [InlineData(404, "The requested model could not be found")]
    [InlineData(422, "- input.num_outputs: Must be less than or equal to 4")]
    public async Task GenerateAsync_ClientError_IsPermanentWithoutRetryAndKeepsTheProviderText(int status, string detail)
    {
        Server.Inject("create", status, detail);
        var generator = TestSupport.Generator(Server, Http);

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());

        Assert.False(error.IsTransient);
        Assert.Contains(detail, error.Message, StringComparison.Ordinal);
        Assert.Contains(status.ToString(CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
        Assert.Equal(1, Server.CreateCalls);
    }

    [Fact]
    public async Task GenerateAsync_WrongToken_IsPermanentAndSaysWhichSettingToFix()
    {
        var generator = TestSupport.Generator(Server, Http, o => o.ApiToken = "r8_wrong");

        var error = await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());

        Assert.False(error.IsTransient);
        Assert.Contains("MediaGen:Generators:Replicate:ApiToken", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("r8_wrong", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GenerateAsync_SlowOutputDownload_ReturnsBeforeTheBodyArrivesAndStreamsItWhole()
    {
        Server.OutputGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Server.OutputSize = 512 * 1024;
        var generator = TestSupport.Generator(Server, Http);
        var checkpoint = new RecordingCheckpointSink();

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(), checkpoint));
        var stream = await result.Outputs[0].OpenReadAsync();
        await using (stream)
        {
            var head = new byte[1024];
            await stream.ReadExactlyAsync(head);
            Assert.False(Server.OutputGate.Task.IsCompleted);
            Server.OutputGate.SetResult();
            using var rest = new MemoryStream();
            await stream.CopyToAsync(rest);
            var expected = FakeReplicateServer.OutputBytes(TestSupport.SavedPrediction(checkpoint), 0, Server.OutputSize);
            Assert.Equal(expected, head.Concat(rest.ToArray()).ToArray());
        }
    }

    [Fact]
    public async Task GenerateAsync_OutputUrlWithoutExtension_TakesTheContentTypeFromTheResponse()
    {
        Server.OutputExtension = null;
        var generator = TestSupport.Generator(Server, Http);

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job()));

        Assert.Equal("image/png", result.Outputs[0].ContentType);
        Assert.Equal(Server.OutputSize, (await GeneratedOutputs.ReadAllAsync(result.Outputs[0])).Length);
        Assert.Equal(Server.OutputSize, (await GeneratedOutputs.ReadAllAsync(result.Outputs[0])).Length);
    }

    [Fact]
    public async Task GenerateAsync_WorkerKilledRightAfterTheCreate_NextAttemptResumesAndThePredictionIsCreatedOnce()
    {
        Server.PollsUntilDone = 3;
        var generator = TestSupport.Generator(Server, Http);
        using var attempt = new CancellationTokenSource();
        var checkpoint = new RecordingCheckpointSink
        {
            OnSaved = s =>
            {
                if (!TestSupport.IsCreateMark(s))
                {
                    attempt.Cancel();
                }
            },
        };
        var job = TestSupport.Job();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => generator.GenerateAsync(TestSupport.Context(generator, job, checkpoint), attempt.Token).AsTask());
        var saved = TestSupport.SavedPrediction(checkpoint);

        // A new process: a fresh generator, the job as the store holds it, with the saved checkpoint.
        var restarted = TestSupport.Generator(Server, Http);
        var resumedCheckpoint = new RecordingCheckpointSink();
        var result = await restarted.GenerateAsync(TestSupport.Context(restarted, job with { Checkpoint = saved, Attempt = 2 }, resumedCheckpoint));

        Assert.Single(result.Outputs);
        Assert.Equal(1, Server.CreateCalls);
        Assert.Equal(1, Server.PredictionsCreated);
        Assert.Equal(0, Server.CancelCalls);
        Assert.Empty(resumedCheckpoint.Saved);
        Assert.Equal(FakeReplicateServer.OutputBytes(saved, 0, Server.OutputSize), await GeneratedOutputs.ReadAllAsync(result.Outputs[0]));
    }

    [Fact]
    public async Task GenerateAsync_CheckpointCannotBeSaved_CancelsThePredictionNobodyCouldResume()
    {
        Server.PollsUntilDone = 1000;
        var generator = TestSupport.Generator(Server, Http);
        var checkpoint = new RecordingCheckpointSink { Failure = new InvalidOperationException("The job store is down."), FailWhen = s => !TestSupport.IsCreateMark(s) };

        await Assert.ThrowsAsync<InvalidOperationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(), checkpoint)).AsTask());

        Assert.Equal(1, Server.CancelCalls);
        Assert.Equal("canceled", Server.Find("pred0001fake")!.Status);
    }

    [Fact]
    public async Task GenerateAsync_JobAbortedWhilePolling_CancelsThePredictionOnReplicate()
    {
        Server.PollsUntilDone = 1000;
        var generator = TestSupport.Generator(Server, Http);
        using var aborted = new CancellationTokenSource();
        var progress = new RecordingProgress();
        progress.OnReport = p =>
        {
            if (p.Message == "step 3/1000")
            {
                aborted.Cancel();
            }
        };
        var checkpoint = new RecordingCheckpointSink();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(), checkpoint, progress, aborted.Token)).AsTask());

        Assert.Equal(1, Server.CancelCalls);
        Assert.Equal("canceled", Server.Find(TestSupport.SavedPrediction(checkpoint))!.Status);
    }

    [Fact]
    public async Task GenerateAsync_JobAbortedWhileTheCreateIsInFlight_LetsTheCreateFinishAndCancelsThePrediction()
    {
        Server.PollsUntilDone = 1000;
        Server.CreateGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var generator = TestSupport.Generator(Server, Http);
        using var aborted = new CancellationTokenSource();
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(aborted.Token);

        var run = generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(), jobAborted: aborted.Token), attempt.Token).AsTask();
        await Server.CreateReceived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        aborted.Cancel();
        Server.CreateGate.SetResult();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(1, Server.CancelCalls);
        Assert.Equal("canceled", Server.Find("pred0001fake")!.Status);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task GenerateAsync_JobAbortedThenAttemptCanceledWhileTheCreateIsInFlight_CancelsThePredictionWhetherOrNotItsIdIsSaved(bool storeRefusesTheId)
    {
        // As the worker aborts: the job's token first, then the attempt's. The store, like a database-backed one, refuses
        // a write on a canceled token, so the id is saved without the attempt's token; and the prediction is canceled
        // even when the save fails.
        Server.PollsUntilDone = 1000;
        Server.CreateGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var generator = TestSupport.Generator(Server, Http);
        using var aborted = new CancellationTokenSource();
        using var attempt = new CancellationTokenSource();
        var checkpoint = new TokenHonouringCheckpointSink { RefusePredictionIds = storeRefusesTheId };

        var job = TestSupport.Job();
        var context = new GenerationContext(job, generator.Models.Single(m => m.Id == job.Request.Model), new RecordingProgress(), checkpoint, aborted.Token);
        var run = generator.GenerateAsync(context, attempt.Token).AsTask();
        await Server.CreateReceived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        aborted.Cancel();
        attempt.Cancel();
        Server.CreateGate.SetResult();

        var error = await Record.ExceptionAsync(() => run.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.NotNull(error);
        Assert.Equal(1, Server.PredictionsCreated);
        Assert.Equal("canceled", Server.Find("pred0001fake")!.Status);
        if (!storeRefusesTheId)
        {
            Assert.IsAssignableFrom<OperationCanceledException>(error);
            Assert.Contains("pred0001fake", checkpoint.Saved);
        }
    }

    [Fact]
    public async Task GenerateAsync_AttemptStoppedWhileTheCreateIsInFlight_StopsAtOnce()
    {
        Server.CreateGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var generator = TestSupport.Generator(Server, Http);
        using var attempt = new CancellationTokenSource();

        var run = generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job()), attempt.Token).AsTask();
        await Server.CreateReceived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        attempt.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, Server.CancelCalls);
    }

    [Fact]
    public async Task GenerateAsync_AttemptCanceledWithoutJobAbort_LeavesThePredictionRunning()
    {
        Server.PollsUntilDone = 1000;
        var generator = TestSupport.Generator(Server, Http);
        using var attempt = new CancellationTokenSource();
        var progress = new RecordingProgress { OnReport = p => attempt.Cancel() };
        var checkpoint = new RecordingCheckpointSink();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(), checkpoint, progress), attempt.Token).AsTask());

        Assert.Equal(0, Server.CancelCalls);
        Assert.False(Server.Find(TestSupport.SavedPrediction(checkpoint))!.IsTerminal);
    }

    [Fact]
    public async Task GenerateAsync_SavedPredictionUnknownToReplicate_CreatesANewOne()
    {
        var generator = TestSupport.Generator(Server, Http);
        var checkpoint = new RecordingCheckpointSink();

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(checkpoint: "gone0000", attempt: 2), checkpoint));

        Assert.Single(result.Outputs);
        Assert.Equal(1, Server.PredictionsCreated);
        Assert.Equal("pred0001fake", TestSupport.SavedPrediction(checkpoint));
    }

    [Fact]
    public async Task GenerateAsync_SavedPredictionFailed_IsPermanentWithoutANewCreate()
    {
        var seeded = Server.Seed("failed", "Prediction failed: invalid image dimensions");
        var generator = TestSupport.Generator(Server, Http);

        var error = await Assert.ThrowsAsync<GenerationException>(
            () => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(checkpoint: seeded.Id, attempt: 2))).AsTask());

        Assert.False(error.IsTransient);
        Assert.Contains("invalid image dimensions", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, Server.CreateCalls);
    }

    [Fact]
    public async Task GenerateAsync_SavedPredictionCanceledOnReplicate_IsPermanentWithoutANewCreate()
    {
        var seeded = Server.Seed("canceled");
        var generator = TestSupport.Generator(Server, Http);

        var error = await Assert.ThrowsAsync<GenerationException>(
            () => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(checkpoint: seeded.Id, attempt: 2))).AsTask());

        Assert.False(error.IsTransient);
        Assert.Equal(0, Server.CreateCalls);
    }

    [Fact]
    public async Task GenerateAsync_PreferWaitWithDataUriOutputs_DecodesOutputsWithoutPolling()
    {
        Server.DataUriOutputs = true;
        Server.PollsUntilDone = 4;
        var generator = TestSupport.Generator(Server, Http, o => o.PreferWaitSeconds = 60);

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job()));

        Assert.Equal("wait=60", Assert.Single(Server.PreferHeaders));
        Assert.Equal(0, Server.GetCalls);
        var output = Assert.Single(result.Outputs);
        Assert.Equal("image/png", output.ContentType);
        Assert.Equal(FakeReplicateServer.OutputBytes("pred0001fake", 0, 256), await GeneratedOutputs.ReadAllAsync(output));
    }

    [Fact]
    public async Task GenerateAsync_ExpiredOutput_FailsPermanentlyWhenRead()
    {
        Server.Inject("download", 404, "gone");
        var generator = TestSupport.Generator(Server, Http);
        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job()));

        var error = await Assert.ThrowsAsync<GenerationException>(() => result.Outputs[0].OpenReadAsync().AsTask());

        Assert.False(error.IsTransient);
        Assert.Equal(MediaGenErrorCodes.ProviderOutputExpired, error.ErrorCode);
        Assert.Contains("an hour", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GenerateAsync_ResumedPredictionWithDataRemoved_FailsAsExpiredWithoutANewCreate()
    {
        var seeded = Server.Seed("succeeded");
        seeded.DataRemoved = true;
        var generator = TestSupport.Generator(Server, Http);

        var error = await Assert.ThrowsAsync<GenerationException>(
            () => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(checkpoint: seeded.Id, attempt: 2))).AsTask());

        Assert.Equal(MediaGenErrorCodes.ProviderOutputExpired, error.ErrorCode);
        Assert.False(error.IsTransient);
        Assert.True(error.IsRefundable);
        Assert.Contains(seeded.Id, error.Message, StringComparison.Ordinal);
        Assert.Contains("ExpiredPrediction", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, Server.CreateCalls);
        Assert.Equal(0, Server.DownloadCalls);
    }

    [Fact]
    public async Task GenerateAsync_ResumedPredictionCompletedLongerAgoThanOutputsAreKept_FailsAsExpired()
    {
        var seeded = Server.Seed("succeeded");
        seeded.CompletedAt = DateTimeOffset.UtcNow.AddMinutes(-61);
        var generator = TestSupport.Generator(Server, Http);

        var error = await Assert.ThrowsAsync<GenerationException>(
            () => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(checkpoint: seeded.Id, attempt: 2))).AsTask());

        Assert.Equal(MediaGenErrorCodes.ProviderOutputExpired, error.ErrorCode);
        Assert.Equal(0, Server.CreateCalls);
    }

    [Fact]
    public async Task GenerateAsync_ResumedPredictionCompletedRecently_IsResumedAndItsOutputsRead()
    {
        var seeded = Server.Seed("succeeded");
        seeded.CompletedAt = DateTimeOffset.UtcNow.AddMinutes(-50);
        var generator = TestSupport.Generator(Server, Http);

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(checkpoint: seeded.Id, attempt: 2)));

        Assert.Equal(FakeReplicateServer.OutputBytes(seeded.Id, 0, Server.OutputSize), await GeneratedOutputs.ReadAllAsync(Assert.Single(result.Outputs)));
        Assert.Equal(0, Server.CreateCalls);
    }

    [Fact]
    public async Task GenerateAsync_ExpiredPredictionWithCreateNew_PaysForANewPredictionAndDeliversIt()
    {
        var seeded = Server.Seed("succeeded");
        seeded.DataRemoved = true;
        var generator = TestSupport.Generator(Server, Http, o => o.ExpiredPrediction = ReplicateRecreatePolicy.CreateNew);
        var checkpoint = new RecordingCheckpointSink();

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job(checkpoint: seeded.Id, attempt: 2), checkpoint));

        var created = TestSupport.SavedPrediction(checkpoint);
        Assert.NotEqual(seeded.Id, created);
        Assert.Equal(1, Server.PredictionsCreated);
        Assert.Equal(FakeReplicateServer.OutputBytes(created, 0, Server.OutputSize), await GeneratedOutputs.ReadAllAsync(Assert.Single(result.Outputs)));
    }

    [Fact]
    public async Task GenerateAsync_LogsAboveTrace_NeverContainTheTokenOrThePrompt()
    {
        var collector = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(collector)));
        Server.Inject("create", 500, $"echo of {TestSupport.Prompt}");
        Server.FailWith = $"failed on {TestSupport.Prompt}";
        var generator = TestSupport.Generator(Server, Http, logger: loggerFactory.CreateLogger<ReplicateGenerator>());

        await Assert.ThrowsAsync<GenerationException>(() => generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job())).AsTask());

        var records = collector.GetSnapshot();
        Assert.Contains(records, r => r.Level == LogLevel.Trace && r.Message.Contains(TestSupport.Prompt, StringComparison.Ordinal));
        Assert.Contains(records, r => r.Level >= LogLevel.Information);
        foreach (var record in records.Where(r => r.Level > LogLevel.Trace))
        {
            Assert.DoesNotContain(TestSupport.Prompt, record.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(FakeReplicateServer.Token, record.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(TestSupport.Prompt, record.Exception?.ToString() ?? string.Empty, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(records, r => r.Message.Contains(FakeReplicateServer.Token, StringComparison.Ordinal));
    }

    /// <summary>A checkpoint sink that, like a database-backed store, refuses to start a write on a canceled token.</summary>
    private sealed class TokenHonouringCheckpointSink : ICheckpointSink
    {
        public ConcurrentQueue<string> Saved { get; } = new();

        /// <summary>Whether a prediction id (anything but a create mark) fails to save, as a store that is down would.</summary>
        public bool RefusePredictionIds { get; init; }

        public ValueTask SaveAsync(string checkpoint, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (RefusePredictionIds && !TestSupport.IsCreateMark(checkpoint))
            {
                throw new InvalidOperationException("The job store is unavailable.");
            }

            Saved.Enqueue(checkpoint);
            return ValueTask.CompletedTask;
        }
    }
}
