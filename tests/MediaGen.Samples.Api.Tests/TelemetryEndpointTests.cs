using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace MediaGen.Samples.Api.Tests;

/// <summary>The sample API's telemetry wiring: Prometheus at /metrics, and OTLP to the endpoint it is given.</summary>
public sealed class TelemetryEndpointTests
{
    [Fact]
    public async Task Metrics_AfterAJob_ServesTheMediaGenInstrumentsForPrometheus()
    {
        using var factory = new DefaultApiFactory();
        using var client = factory.CreateClient();
        using var succeeded = new MetricCollector<long>(factory.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), MediaGenTelemetry.MeterName, MediaGenTelemetry.Instruments.JobSucceeded);

        await RunOneJobAsync(factory, client, succeeded);
        using var scrape = await client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.Equal("text/plain", scrape.Content.Headers.ContentType?.MediaType);
        var text = await scrape.Content.ReadAsStringAsync();
        // Prometheus names: dots become underscores, counters end in _total, the seconds histograms in _seconds_bucket.
        Assert.Contains("mediagen_job_submitted_total{", text, StringComparison.Ordinal);
        Assert.Contains("mediagen_job_started_total{", text, StringComparison.Ordinal);
        Assert.Contains("mediagen_job_succeeded_total{", text, StringComparison.Ordinal);
        Assert.Contains("mediagen_job_duration_seconds_bucket{", text, StringComparison.Ordinal);
        Assert.Contains("mediagen_generation_duration_seconds_bucket{", text, StringComparison.Ordinal);
        Assert.Contains("mediagen_queue_wait_seconds_bucket{", text, StringComparison.Ordinal);
        Assert.Contains("mediagen_model=\"procedural\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_PrometheusTurnedOff_NotServed()
    {
        using var factory = new ApiFactory(new Dictionary<string, string?> { ["MediaGen:Telemetry:Prometheus"] = "false" });
        using var client = factory.CreateClient();

        using var scrape = await client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.NotFound, scrape.StatusCode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Otlp_EndpointConfigured_ExportsMediaGenSpansAndMetrics(bool standardVariable)
    {
        await using var collector = await OtlpCollector.StartAsync();
        // Prometheus off: a pull exporter cannot be flushed, so the meter provider's flush would report false with it.
        var settings = standardVariable
            ? new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.BaseUrl, ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf" }
            : new Dictionary<string, string?> { ["MediaGen:Telemetry:OtlpEndpoint"] = collector.BaseUrl, ["MediaGen:Telemetry:OtlpProtocol"] = "HttpProtobuf" };
        settings["MediaGen:Telemetry:Prometheus"] = "false";
        using var factory = new ApiFactory(settings);
        using var client = factory.CreateClient();
        using var succeeded = new MetricCollector<long>(factory.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), MediaGenTelemetry.MeterName, MediaGenTelemetry.Instruments.JobSucceeded);

        using var ended = new EndedSpans();

        var jobId = await RunOneJobAsync(factory, client, succeeded);
        await ended.WaitAsync(MediaGenTelemetry.Spans.Process, jobId);
        Assert.True(factory.Services.GetRequiredService<TracerProvider>().ForceFlush());
        Assert.True(factory.Services.GetRequiredService<MeterProvider>().ForceFlush());

        // OTLP is protobuf: its strings (span and instrument names) appear in the body as they are.
        Assert.Contains(MediaGenTelemetry.Spans.Submit, collector.Received("/v1/traces"), StringComparison.Ordinal);
        Assert.Contains(MediaGenTelemetry.Spans.Process, collector.Received("/v1/traces"), StringComparison.Ordinal);
        Assert.Contains(MediaGenTelemetry.Instruments.JobSucceeded, collector.Received("/v1/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Otlp_NoEndpoint_ExportsNothing()
    {
        await using var collector = await OtlpCollector.StartAsync();
        using var factory = new DefaultApiFactory();
        using var client = factory.CreateClient();
        using var succeeded = new MetricCollector<long>(factory.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), MediaGenTelemetry.MeterName, MediaGenTelemetry.Instruments.JobSucceeded);

        await RunOneJobAsync(factory, client, succeeded);
        Assert.True(factory.Services.GetRequiredService<TracerProvider>().ForceFlush());

        Assert.Empty(collector.Received("/v1/traces"));
    }

    private static async Task<string> RunOneJobAsync(ApiFactory factory, HttpClient client, MetricCollector<long> succeeded)
    {
        using var submitted = await client.SubmitAsync(new { prompt = "a lighthouse at dusk", model = "procedural" });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var id = (await submitted.ReadJsonAsync()).GetProperty("id").GetString()!;
        await factory.Services.WaitForJobAsync("demo", id, j => j.Status == JobStatus.Succeeded);
        // The counter is recorded right after the terminal step is written, so wait for it rather than for the job.
        await succeeded.WaitForMeasurementsAsync(1, Waits.Limit);
        return id;
    }

    /// <summary>An OTLP/HTTP receiver on a loopback port that keeps each request body by path.</summary>
    private sealed class OtlpCollector : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentDictionary<string, ConcurrentQueue<byte[]>> _bodies = new(StringComparer.Ordinal);

        private OtlpCollector(WebApplication app)
        {
            _app = app;
        }

        /// <summary>Where the collector listens, once started: on a port the system picked when it bound.</summary>
        public string BaseUrl => _app.Urls.First();

        public static async Task<OtlpCollector> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var collector = new OtlpCollector(app);
            app.MapPost("/{**path}", async (HttpContext context) =>
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body);
                collector._bodies.GetOrAdd(context.Request.Path.Value!, _ => new()).Enqueue(body.ToArray());
                return Results.Ok();
            });
            await app.StartAsync();
            return collector;
        }

        /// <summary>Every body received on <paramref name="path"/>, as Latin-1 text (protobuf strings are readable in it).</summary>
        public string Received(string path) =>
            _bodies.TryGetValue(path, out var bodies) ? string.Join('\n', bodies.Select(Encoding.Latin1.GetString)) : string.Empty;

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
