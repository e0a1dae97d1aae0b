using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using MediaGen.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace MediaGen.OpenTelemetry.Tests;

/// <summary>
/// MediaGen's spans and metrics through OpenTelemetry's SDK and its in-memory exporter, with the real in-memory backend,
/// the procedural generator and the worker in one host.
/// </summary>
public sealed class MediaGenInstrumentationTests : IAsyncLifetime
{
    private const string Owner = "alice";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "mediagen-otel-tests", Guid.NewGuid().ToString("N"));
    private readonly List<Activity> _spans = [];
    private readonly List<Metric> _metrics = [];
    private readonly EndedSpans _ended = new();
    private IHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = new HostBuilder()
            .ConfigureServices(services =>
            {
                services.AddMediaGeneration()
                    .UseFileSystemStorage(o => o.RootPath = _root)
                    .ConfigureCredits(o => o.InitialBalance = 3)
                    .AddProceduralGenerator(o => o.SimulatedDuration = TimeSpan.Zero)
                    .AddWorker(o => o.ReceiveWait = TimeSpan.FromMilliseconds(100));
                services.AddOpenTelemetry()
                    .WithTracing(t => t.AddMediaGenInstrumentation().AddInMemoryExporter(_spans))
                    .WithMetrics(m => m.AddMediaGenInstrumentation().AddInMemoryExporter(_metrics));
            })
            .Build();
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        _ended.Dispose();
        await _host.StopAsync();
        _host.Dispose();
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task Process_GeneratorFailsPermanently_SpanHasErrorStatusErrorTypeAndException()
    {
        var job = await SubmitAsync(new Dictionary<string, string> { ["simulateFailure"] = "permanent" });
        var failed = await _host.Services.WaitForJobAsync(Owner, job.Id, j => j.Status == JobStatus.Failed);
        // The job fails inside its attempt's span: wait for the span to end before flushing.
        await _ended.WaitAsync(MediaGenTelemetry.Spans.Process, job.Id);

        var process = FlushedSpan(MediaGenTelemetry.Spans.Process, job.Id);
        Assert.Equal(ActivityStatusCode.Error, process.Status);
        Assert.Equal(failed.Error!.Message, process.StatusDescription);
        Assert.Equal(MediaGenErrorCodes.GeneratorPermanent, failed.Error.Code);
        Assert.Equal(MediaGenErrorCodes.GeneratorPermanent, process.GetTagItem(MediaGenTelemetry.Tags.ErrorType));
        var exception = Assert.Single(process.Events, e => e.Name == "exception");
        Assert.Equal(typeof(GenerationException).FullName, exception.Tags.Single(t => t.Key == "exception.type").Value);
        Assert.Contains("simulated permanent failure", (string)exception.Tags.Single(t => t.Key == "exception.message").Value!, StringComparison.Ordinal);

        // The submission itself went well: its span stays unset, and the worker's span is its child.
        var submit = FlushedSpan(MediaGenTelemetry.Spans.Submit, job.Id);
        Assert.Equal(ActivityStatusCode.Unset, submit.Status);
        Assert.Equal(submit.TraceId, process.TraceId);
        Assert.Equal(submit.SpanId, process.ParentSpanId);
    }

    [Fact]
    public async Task Process_JobSucceeds_SpanStatusUnsetAndNoExceptionEvent()
    {
        var job = await SubmitAsync(parameters: null);
        await _host.Services.WaitForJobAsync(Owner, job.Id, j => j.Status == JobStatus.Succeeded);
        await _ended.WaitAsync(MediaGenTelemetry.Spans.Process, job.Id);

        var process = FlushedSpan(MediaGenTelemetry.Spans.Process, job.Id);
        Assert.Equal(ActivityStatusCode.Unset, process.Status);
        Assert.Null(process.GetTagItem(MediaGenTelemetry.Tags.ErrorType));
        Assert.DoesNotContain(process.Events, e => e.Name == "exception");
    }

    [Fact]
    public async Task Submit_OwnerCannotPay_SpanHasErrorStatusWithTheStableCode()
    {
        var client = _host.Services.GetRequiredService<IMediaGenerationClient>();
        var request = new GenerationRequest { Prompt = "too dear", Model = "procedural", OwnerId = "poor", Settings = new GenerationSettings { OutputCount = 4 } };

        var refused = await Assert.ThrowsAsync<InsufficientCreditsException>(() => client.SubmitAsync(request).AsTask());

        Activity submit;
        Assert.True(_host.Services.GetRequiredService<TracerProvider>().ForceFlush());
        lock (_spans)
        {
            submit = Assert.Single(_spans, s => s.OperationName == MediaGenTelemetry.Spans.Submit && s.Status == ActivityStatusCode.Error
                && Equals(s.GetTagItem(MediaGenTelemetry.Tags.ErrorType), MediaGenErrorCodes.InsufficientCredits));
        }

        Assert.Equal(refused.Message, submit.StatusDescription);
        Assert.Contains(submit.Events, e => e.Name == "exception");
    }

    [Fact]
    public async Task Metrics_AfterAJob_ExportsTheInstrumentsByTheirPublicNames()
    {
        var job = await SubmitAsync(parameters: null);
        await _host.Services.WaitForJobAsync(Owner, job.Id, j => j.Status == JobStatus.Succeeded);
        // The succeeded counter is recorded after the terminal write, inside the attempt's span: its end follows both.
        await _ended.WaitAsync(MediaGenTelemetry.Spans.Process, job.Id);

        Assert.True(_host.Services.GetRequiredService<MeterProvider>().ForceFlush());
        string[] exported;
        lock (_metrics)
        {
            exported = [.. _metrics.Where(m => m.MeterName == MediaGenTelemetry.MeterName).Select(m => m.Name).Distinct()];
        }

        Assert.Contains(MediaGenTelemetry.Instruments.JobSubmitted, exported);
        Assert.Contains(MediaGenTelemetry.Instruments.JobStarted, exported);
        Assert.Contains(MediaGenTelemetry.Instruments.JobSucceeded, exported);
        Assert.Contains(MediaGenTelemetry.Instruments.JobDuration, exported);
        Assert.Contains(MediaGenTelemetry.Instruments.GenerationDuration, exported);
        Assert.All(exported, name => Assert.Contains(name, MediaGenTelemetry.Instruments.All));
    }

    [Fact]
    public void Instruments_All_NamesEveryInstrumentOnTheMeter()
    {
        // Resolving the client creates MediaGen's meter in this host; a listener is told of every instrument already on it.
        _ = _host.Services.GetRequiredService<IMediaGenerationClient>();
        var meterFactory = _host.Services.GetRequiredService<IMeterFactory>();
        var published = new List<string>();
        using (var listener = new MeterListener())
        {
            listener.InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == MediaGenTelemetry.MeterName && ReferenceEquals(instrument.Meter.Scope, meterFactory))
                {
                    published.Add(instrument.Name);
                }
            };
            listener.Start();
        }

        Assert.Equal(MediaGenTelemetry.Instruments.All.Order(StringComparer.Ordinal), published.Order(StringComparer.Ordinal));
    }

    private async Task<GenerationJob> SubmitAsync(Dictionary<string, string>? parameters)
    {
        var client = _host.Services.GetRequiredService<IMediaGenerationClient>();
        var request = new GenerationRequest
        {
            Prompt = "a lighthouse at dusk",
            Model = "procedural",
            OwnerId = Owner,
            Parameters = parameters?.ToDictionary(p => p.Key, p => JsonSerializer.SerializeToElement(p.Value)),
        };
        return (await client.SubmitAsync(request)).Job;
    }

    /// <summary>The one span of that name for the job, after the exporter has been flushed (a span is exported when it ends).</summary>
    private Activity FlushedSpan(string name, string jobId)
    {
        Assert.True(_host.Services.GetRequiredService<TracerProvider>().ForceFlush());
        lock (_spans)
        {
            return Assert.Single(_spans, s => s.OperationName == name && Equals(s.GetTagItem(MediaGenTelemetry.Tags.JobId), jobId));
        }
    }
}
