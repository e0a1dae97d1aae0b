namespace MediaGen.Core.Tests.Generators;

public sealed class ProceduralImageGeneratorTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task GenerateAsync_DefaultSettings_ProducesA512SquareRgbPng()
    {
        var generator = CreateGenerator();

        var result = await generator.GenerateAsync(CreateContext(generator, Request("a lighthouse at dusk", seed: 7)));

        var output = Assert.Single(result.Outputs);
        Assert.Equal("image/png", output.ContentType);
        Assert.Equal(512, output.Width);
        Assert.Equal(512, output.Height);
        var bytes = await ReadAsync(output);
        Assert.Equal(bytes.Length, output.Length);
        var png = PngTestReader.Decode(bytes);
        Assert.Equal(512, png.Width);
        Assert.Equal(512, png.Height);
        Assert.True(png.DistinctColours() > 16, "Expected a picture, not a flat fill.");
    }

    [Fact]
    public async Task GenerateAsync_SamePromptSeedAndSize_ProducesIdenticalBytes()
    {
        var first = CreateGenerator();
        var second = CreateGenerator();

        var a = await GenerateBytesAsync(first, Request("a red fox in the snow", seed: 42));
        var b = await GenerateBytesAsync(second, Request("a red fox in the snow", seed: 42));

        Assert.Equal(a, b);
    }

    [Fact]
    public async Task GenerateAsync_DifferentPrompt_ProducesADifferentPicture()
    {
        var generator = CreateGenerator();

        var a = PngTestReader.Decode(await GenerateBytesAsync(generator, Request("a red fox in the snow", seed: 42)));
        var b = PngTestReader.Decode(await GenerateBytesAsync(generator, Request("a blue whale at sea", seed: 42)));

        Assert.True(DifferingPixelShare(a, b) > 0.5, "Different prompts should give clearly different pictures.");
    }

    [Fact]
    public async Task GenerateAsync_DifferentSeed_ProducesADifferentPicture()
    {
        var generator = CreateGenerator();

        var a = PngTestReader.Decode(await GenerateBytesAsync(generator, Request("a red fox in the snow", seed: 1)));
        var b = PngTestReader.Decode(await GenerateBytesAsync(generator, Request("a red fox in the snow", seed: 2)));

        Assert.True(DifferingPixelShare(a, b) > 0.5, "Different seeds should give clearly different pictures.");
    }

    [Fact]
    public async Task GenerateAsync_NoSeed_DrawsEachJobDifferently()
    {
        var generator = CreateGenerator();
        var request = Request("a red fox in the snow");

        var a = await GenerateBytesAsync(generator, request, jobId: new string('a', 32));
        var b = await GenerateBytesAsync(generator, request, jobId: new string('b', 32));

        Assert.NotEqual(a, b);
    }

    [Theory]
    [InlineData("1:1", 512, 512)]
    [InlineData("16:9", 512, 288)]
    [InlineData("9:16", 288, 512)]
    [InlineData("4:3", 512, 384)]
    [InlineData("3:4", 384, 512)]
    public async Task GenerateAsync_AspectRatio_UsesTheRatioOnTheDefaultSide(string ratio, int width, int height)
    {
        var generator = CreateGenerator();

        var png = PngTestReader.Decode(await GenerateBytesAsync(generator, Request("a field", seed: 1) with
        {
            Settings = new GenerationSettings { AspectRatio = ratio, Seed = 1 },
        }));

        Assert.Equal((width, height), (png.Width, png.Height));
    }

    [Fact]
    public async Task GenerateAsync_WidthAndHeightOnTheHdModel_AreHonoured()
    {
        var generator = CreateGenerator();
        var request = Request("a field", seed: 1) with
        {
            Model = ProceduralImageGenerator.HdModelId,
            Settings = new GenerationSettings { Width = 1280, Height = 64, Seed = 1 },
        };

        var png = PngTestReader.Decode(await GenerateBytesAsync(generator, request));

        Assert.Equal((1280, 64), (png.Width, png.Height));
    }

    [Fact]
    public async Task GenerateAsync_SeveralOutputs_AreAllValidAndDistinct()
    {
        var generator = CreateGenerator();
        var request = Request("a field", seed: 3) with { Settings = new GenerationSettings { OutputCount = 3, Seed = 3, Width = 128, Height = 128 } };

        var result = await generator.GenerateAsync(CreateContext(generator, request));

        Assert.Equal(3, result.Outputs.Count);
        var pictures = new List<byte[]>();
        foreach (var output in result.Outputs)
        {
            var bytes = await ReadAsync(output);
            Assert.Equal(128, PngTestReader.Decode(bytes).Width);
            pictures.Add(bytes);
        }

        Assert.Equal(3, pictures.Select(Convert.ToBase64String).Distinct().Count());
    }

    [Fact]
    public async Task GenerateAsync_SimulatedDuration_WaitsOnTheTimeProvider()
    {
        var time = new FakeTimeProvider();
        var generator = CreateGenerator(o => { o.SimulatedDuration = TimeSpan.FromSeconds(2); o.ProgressSteps = 1; }, time);

        var task = generator.GenerateAsync(CreateContext(generator, Request("a field", seed: 1))).AsTask();
        Assert.False(task.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(2) - TimeSpan.FromMilliseconds(1));
        Assert.False(task.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));

        var result = await task.WaitAsync(Timeout);
        Assert.Single(result.Outputs);
    }

    [Fact]
    public async Task GenerateAsync_ProgressSteps_ReportsEachStepAfterItsShareOfTheDuration()
    {
        var time = new ObservedTimeProvider();
        var start = time.GetUtcNow();
        var generator = CreateGenerator(o => { o.SimulatedDuration = TimeSpan.FromSeconds(1); o.ProgressSteps = 4; }, time);
        var progress = new RecordingProgress(time);

        var task = generator.GenerateAsync(CreateContext(generator, Request("a field", seed: 1), progress)).AsTask();
        // Advance in small slices until it finishes: each step's timer is only created once the previous one fired, by a
        // continuation that may run on the thread pool after the move returns. So each move waits until the generator waits
        // on the clock again, not for a number of moves in wall-clock time.
        await time.AdvanceUntilDoneAsync(task, TimeSpan.FromMilliseconds(5), TimeSpan.Zero, static () => { });

        await task.WaitAsync(Timeout);
        Assert.Equal([0.25, 0.5, 0.75, 1.0], progress.Reports.Select(r => r.Progress.Fraction));
        Assert.Equal(["step 1/4", "step 2/4", "step 3/4", "step 4/4"], progress.Reports.Select(r => r.Progress.Message));
        for (var i = 0; i < 4; i++)
        {
            Assert.True(progress.Reports[i].At - start >= TimeSpan.FromMilliseconds(250 * (i + 1)), $"Step {i + 1} was reported too early.");
        }
    }

    [Fact]
    public async Task GenerateAsync_CanceledWhileWaiting_ThrowsOperationCanceled()
    {
        var time = new FakeTimeProvider();
        var generator = CreateGenerator(o => o.SimulatedDuration = TimeSpan.FromSeconds(10), time);
        using var cts = new CancellationTokenSource();

        var task = generator.GenerateAsync(CreateContext(generator, Request("a field", seed: 1)), cts.Token).AsTask();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task.WaitAsync(Timeout));
    }

    [Fact]
    public async Task GenerateAsync_AlreadyCanceled_ThrowsWithoutWorking()
    {
        var generator = CreateGenerator();
        var progress = new RecordingProgress(TimeProvider.System);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await generator.GenerateAsync(CreateContext(generator, Request("a field", seed: 1), progress), new CancellationToken(canceled: true)));
        Assert.Empty(progress.Reports);
    }

    [Fact]
    public async Task GenerateAsync_SimulatedPermanentFailure_ThrowsAPermanentError()
    {
        var generator = CreateGenerator();
        var request = WithParameter(Request("a field", seed: 1), ProceduralImageGenerator.SimulateFailureParameter, "\"permanent\"");

        var error = await Assert.ThrowsAsync<GenerationException>(async () => await generator.GenerateAsync(CreateContext(generator, request)));

        Assert.False(error.IsTransient);
        Assert.Equal(MediaGenErrorCodes.GeneratorPermanent, error.ErrorCode);
    }

    [Fact]
    public async Task GenerateAsync_SimulatedTransientOnce_FailsTheFirstAttemptOnly()
    {
        var generator = CreateGenerator();
        var request = WithParameter(Request("a field", seed: 1), ProceduralImageGenerator.SimulateFailureParameter, "\"transient-once\"");

        var error = await Assert.ThrowsAsync<GenerationException>(async () => await generator.GenerateAsync(CreateContext(generator, request, attempt: 1)));
        var result = await generator.GenerateAsync(CreateContext(generator, request, attempt: 2));

        Assert.True(error.IsTransient);
        Assert.Single(result.Outputs);
    }

    [Fact]
    public async Task GenerateAsync_FailOutputs_ReportsThoseOutputsFailedAndDrawsTheOthersUnchanged()
    {
        var generator = CreateGenerator();
        var request = Request("a field", seed: 3) with { Settings = new GenerationSettings { OutputCount = 4, Seed = 3, Width = 64, Height = 64 } };
        var partial = WithParameter(request, ProceduralImageGenerator.FailOutputsParameter, "\"3,1\"");

        var whole = await generator.GenerateAsync(CreateContext(generator, request));
        var result = await generator.GenerateAsync(CreateContext(generator, partial));

        Assert.Equal([1, 3], result.FailedOutputs.Select(f => f.Index));
        Assert.All(result.FailedOutputs, f => Assert.Equal(MediaGenErrorCodes.GeneratorPermanent, f.Code));
        Assert.Contains("failOutputs", result.FailedOutputs[0].Message, StringComparison.Ordinal);
        Assert.Equal([0, 2], result.GetOutputIndexes());

        // The delivered outputs are the very pictures outputs 0 and 2 would have been.
        Assert.Equal(await ReadAsync(whole.Outputs[0]), await ReadAsync(result.Outputs[0]));
        Assert.Equal(await ReadAsync(whole.Outputs[2]), await ReadAsync(result.Outputs[1]));
    }

    [Fact]
    public async Task GenerateAsync_FailOutputsNamingEveryOutput_DeliversNone()
    {
        var generator = CreateGenerator();
        var request = WithParameter(Request("a field", seed: 3) with { Settings = new GenerationSettings { OutputCount = 2 } }, ProceduralImageGenerator.FailOutputsParameter, "\"0,1\"");

        var result = await generator.GenerateAsync(CreateContext(generator, request, attempt: 2));

        Assert.Empty(result.Outputs);
        Assert.Equal([0, 1], result.FailedOutputs.Select(f => f.Index));
    }

    [Theory]
    [InlineData(2, "\"1\"", true)]
    [InlineData(2, "\"2\"", false)]
    [InlineData(null, "\"0\"", true)]
    [InlineData(null, "\"1\"", false)]
    [InlineData(4, "\"1,x\"", false)]
    [InlineData(4, "[1]", false)]
    public void Models_ValidateFailOutputsAgainstTheOutputCount(int? outputCount, string json, bool valid)
    {
        var descriptor = CreateGenerator().Models[0];
        var request = WithParameter(Request("a field") with { Settings = new GenerationSettings { OutputCount = outputCount } }, ProceduralImageGenerator.FailOutputsParameter, json);

        var errors = descriptor.Validate(request);

        Assert.Equal(valid, errors.Count == 0);
    }

    [Fact]
    public void Models_ServeProceduralAndHdWithTheConfiguredCosts()
    {
        var generator = CreateGenerator(o => { o.CostCredits = 2; o.HdCostCredits = 9; });

        Assert.Equal("procedural", generator.Name);
        Assert.Equal([("procedural", 2L), ("procedural-hd", 9L)], generator.Models.Select(m => (m.Id, m.CostCredits)));
    }

    [Theory]
    [InlineData("procedural", 1024, true)]
    [InlineData("procedural", 1032, false)]
    [InlineData("procedural", 60, false)]
    [InlineData("procedural", 100, false)]
    [InlineData("procedural-hd", 2048, true)]
    public void Models_ValidateDimensions(string model, int side, bool valid)
    {
        var descriptor = CreateGenerator().Models.Single(m => m.Id == model);

        var errors = descriptor.Validate(Request("a field") with { Model = model, Settings = new GenerationSettings { Width = side, Height = side } });

        Assert.Equal(valid, errors.Count == 0);
    }

    [Fact]
    public void Models_RejectAnUnknownParameterAndAnOutOfRangeShapeCount()
    {
        var descriptor = CreateGenerator().Models[0];
        var request = WithParameter(WithParameter(Request("a field"), "steps", "4"), ProceduralImageGenerator.ShapesParameter, "500");

        var errors = descriptor.Validate(request);

        Assert.Contains("parameters.steps", errors.Keys);
        Assert.Contains("parameters.shapes", errors.Keys);
    }

    [Fact]
    public async Task Render_IsAPureFunctionOfItsInputs()
    {
        var a = ProceduralImageGenerator.Render("p", null, "1", 0, 64, 64, 5, 99, CancellationToken.None);
        var b = ProceduralImageGenerator.Render("p", null, "1", 0, 64, 64, 5, 99, CancellationToken.None);
        var c = ProceduralImageGenerator.Render("p", null, "1", 1, 64, 64, 5, 99, CancellationToken.None);

        Assert.Equal(await ReadAsync(a), await ReadAsync(b));
        Assert.NotEqual(await ReadAsync(a), await ReadAsync(c));
    }

    [Fact]
    public void StableHash_IsFixedAcrossProcesses()
    {
        // A fixed value: string.GetHashCode would change from one process to the next.
        Assert.Equal(ProceduralPainter.StableHash("palette", "a red fox", null), ProceduralPainter.StableHash("palette", "a red fox", null));
        Assert.Equal(0xbd144907cd1411dcUL, ProceduralPainter.StableHash("abc"));
    }

    internal static ProceduralImageGenerator CreateGenerator(Action<ProceduralGeneratorOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new ProceduralGeneratorOptions { SimulatedDuration = TimeSpan.Zero };
        configure?.Invoke(options);
        return new ProceduralImageGenerator(Options.Create(options), time ?? TimeProvider.System);
    }

    private static GenerationRequest Request(string prompt, long? seed = null) => new()
    {
        Prompt = prompt,
        Model = ProceduralImageGenerator.ModelId,
        OwnerId = "owner-1",
        Settings = new GenerationSettings { Seed = seed },
    };

    private static GenerationRequest WithParameter(GenerationRequest request, string name, string json)
    {
        var parameters = new Dictionary<string, JsonElement>(request.Parameters ?? new Dictionary<string, JsonElement>())
        {
            [name] = JsonDocument.Parse(json).RootElement.Clone(),
        };
        return request with { Parameters = parameters };
    }

    private static GenerationContext CreateContext(ProceduralImageGenerator generator, GenerationRequest request, IProgress<GenerationProgress>? progress = null, int attempt = 1, string? jobId = null)
    {
        var job = new GenerationJob
        {
            Id = jobId ?? "0123456789abcdef0123456789abcdef",
            Request = request,
            CreatedAt = DateTimeOffset.UnixEpoch,
            Attempt = attempt,
            Status = JobStatus.Processing,
        };
        var model = generator.Models.Single(m => m.Id == request.Model);
        return new GenerationContext(job, model, progress ?? new RecordingProgress(TimeProvider.System), new NullCheckpointSink(), CancellationToken.None);
    }

    private static async Task<byte[]> GenerateBytesAsync(ProceduralImageGenerator generator, GenerationRequest request, string? jobId = null)
    {
        var result = await generator.GenerateAsync(CreateContext(generator, request, jobId: jobId));
        return await ReadAsync(Assert.Single(result.Outputs));
    }

    private static async Task<byte[]> ReadAsync(GeneratedOutput output)
    {
        await using var stream = await output.OpenReadAsync();
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    private static double DifferingPixelShare(DecodedPng a, DecodedPng b)
    {
        Assert.Equal((a.Width, a.Height), (b.Width, b.Height));
        var differing = 0;
        for (var i = 0; i < a.Pixels.Length; i += 3)
        {
            if (a.Pixels[i] != b.Pixels[i] || a.Pixels[i + 1] != b.Pixels[i + 1] || a.Pixels[i + 2] != b.Pixels[i + 2])
            {
                differing++;
            }
        }

        return differing / (a.Pixels.Length / 3.0);
    }

    private sealed class RecordingProgress(TimeProvider time) : IProgress<GenerationProgress>
    {
        private readonly Lock _gate = new();

        public List<(GenerationProgress Progress, DateTimeOffset At)> Reports { get; } = [];

        public void Report(GenerationProgress value)
        {
            lock (_gate)
            {
                Reports.Add((value, time.GetUtcNow()));
            }
        }
    }

    private sealed class NullCheckpointSink : ICheckpointSink
    {
        public ValueTask SaveAsync(string checkpoint, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
    }
}
