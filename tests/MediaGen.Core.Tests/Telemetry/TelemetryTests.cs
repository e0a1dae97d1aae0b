using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MediaGen.Core.Tests.Telemetry;

public sealed class TelemetryTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mediagen-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task Job_SubmittedAndProcessed_CountsAndTraceSpanApiAndWorker()
    {
        var activities = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == MediaGenMetrics.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { lock (activities) { activities.Add(a); } },
        };
        ActivitySource.AddActivityListener(listener);

        var generator = new ScriptedGenerator("telemetry", (_, _) => ValueTask.FromResult(ScriptedGenerator.TextOutputs("x")));
        using var host = Host.CreateDefaultBuilder().ConfigureServices(s => s
            .AddMediaGeneration()
            .UseFileSystemStorage(o => o.RootPath = _root)
            .ConfigureCredits(o => o.InitialBalance = 10)
            .AddGenerator(generator)
            .AddWorker()).Build();
        var meterFactory = host.Services.GetRequiredService<IMeterFactory>();
        using var submitted = new MetricCollector<long>(meterFactory, MediaGenMetrics.Name, "mediagen.job.submitted");
        using var succeeded = new MetricCollector<long>(meterFactory, MediaGenMetrics.Name, "mediagen.job.succeeded");
        using var duration = new MetricCollector<double>(meterFactory, MediaGenMetrics.Name, "mediagen.job.duration");
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();

        var job = (await client.SubmitAsync(new GenerationRequest { Prompt = "p", Model = generator.ModelId, OwnerId = "o" })).Job;
        await succeeded.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(20));
        await host.StopAsync();

        Assert.Equal(1, Assert.Single(submitted.GetMeasurementSnapshot()).Value);
        var success = Assert.Single(succeeded.GetMeasurementSnapshot());
        Assert.Equal(generator.ModelId, success.Tags["mediagen.model"]);
        Assert.DoesNotContain(success.Tags.Keys, k => k.Contains("job", StringComparison.Ordinal));
        Assert.True(Assert.Single(duration.GetMeasurementSnapshot()).Value >= 0);

        Activity submit, process;
        lock (activities)
        {
            // The listener sees every MediaGen span in the process, including other test classes' running in parallel.
            submit = Assert.Single(activities, a => a.OperationName == "mediagen.submit" && Equals(a.GetTagItem("mediagen.job_id"), job.Id));
            process = Assert.Single(activities, a => a.OperationName == "mediagen.process" && Equals(a.GetTagItem("mediagen.job_id"), job.Id));
        }

        Assert.Equal(ActivityKind.Producer, submit.Kind);
        Assert.Equal(ActivityKind.Consumer, process.Kind);
        Assert.Equal(submit.TraceId, process.TraceId);
        Assert.Equal(submit.SpanId, process.ParentSpanId);
    }

    [Fact]
    public async Task Job_SomeOutputsFailed_CountsTheFailedOutputsByModel()
    {
        var generator = new ScriptedGenerator("telemetry-partial", (_, _) => ValueTask.FromResult(new GenerationResult(
            [GeneratedOutput.FromBytes("image/png", "x"u8.ToArray())],
            [new OutputFailure(0, MediaGenErrorCodes.ContentFiltered, "filtered"), new OutputFailure(2, MediaGenErrorCodes.ContentFiltered, "filtered")])));
        using var host = Host.CreateDefaultBuilder().ConfigureServices(s => s
            .AddMediaGeneration()
            .UseFileSystemStorage(o => o.RootPath = _root)
            .ConfigureCredits(o => o.InitialBalance = 100)
            .AddGenerator(generator)
            .AddWorker()).Build();
        var meterFactory = host.Services.GetRequiredService<IMeterFactory>();
        using var succeeded = new MetricCollector<long>(meterFactory, MediaGenMetrics.Name, "mediagen.job.succeeded");
        using var failedOutputs = new MetricCollector<long>(meterFactory, MediaGenMetrics.Name, "mediagen.output.failed");
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();

        await client.SubmitAsync(new GenerationRequest { Prompt = "p", Model = generator.ModelId, OwnerId = "o", Settings = new GenerationSettings { OutputCount = 3 } });
        await succeeded.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(20));
        await host.StopAsync();

        var measurement = Assert.Single(failedOutputs.GetMeasurementSnapshot());
        Assert.Equal(2, measurement.Value);
        Assert.Equal(generator.ModelId, measurement.Tags["mediagen.model"]);
    }
}
