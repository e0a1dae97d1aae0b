using MediaGen;
using MediaGen.Samples.Api;
using MediaGen.Samples.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

var builder = WebApplication.CreateBuilder(args);

// MediaGen from configuration (MediaGen:Queue:Provider, MediaGen:Storage:Provider, ...). With no configuration at all:
// the in-memory queue, job store, ledger and events, file-system storage, the procedural generator, and the worker here.
var mediaGen = builder.Services.AddMediaGenerationFromConfiguration(builder.Configuration);
var runWorker = mediaGen.WorkerEnabled ?? mediaGen.IsQueueInProcess;
if (runWorker)
{
    mediaGen.AddWorker();
}

// The HTTP API comes from MediaGen.AspNetCore; this host brings its own authentication: API keys become users whose
// NameIdentifier claim is the owner the API acts for.
var apiOptions = SampleApiOptions.Read(builder.Configuration);
builder.Services.AddSingleton(Options.Create(apiOptions));
mediaGen.Builder.AddHttpApi(o => o.SseKeepAliveInterval = apiOptions.SseHeartbeatInterval);

// The operator dashboard at /mediagen: with no authorization policy named, it answers local requests only.
mediaGen.Builder.AddDashboard();
builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
    .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, configureOptions: null);

// Problem details for the host's own errors too (a missing media file, an unhandled exception), with a trace id on each.
builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = c => c.ProblemDetails.Extensions.TryAdd("traceId", c.HttpContext.TraceIdentifier));
builder.Services.AddOpenApi(o => o.AddDocumentTransformer<SampleOpenApi>());

// MediaGen's metrics and spans (AddMediaGenInstrumentation), over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT or
// MediaGen:Telemetry:OtlpEndpoint is set; the HTTP requests' spans are the parents of MediaGen's submission spans, so
// a sampled request traces its job into the worker. Prometheus scrapes /metrics unless MediaGen:Telemetry:Prometheus is false.
var telemetry = builder.Services.AddSampleTelemetry(builder.Configuration, mediaGen.Telemetry, "mediagen-samples-api")
    .WithTracing(t => t.AddAspNetCoreInstrumentation());
if (mediaGen.Telemetry.Prometheus)
{
    telemetry.WithMetrics(m => m.AddPrometheusExporter());
}

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseDefaultFiles();
app.UseStaticFiles();

app.MapOpenApi();
app.MapHealthChecks("/health");
if (mediaGen.Telemetry.Prometheus)
{
    app.MapPrometheusScrapingEndpoint("/metrics");
}
app.MapMediaGeneration("/api/v1");
app.MapMediaGenerationDashboard("/mediagen");

var startupLogger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MediaGen.Samples.Api");
SampleApiLog.Started(startupLogger, mediaGen.QueueProvider, mediaGen.StorageProvider, runWorker, apiOptions.ApiKeys.Count > 0 ? "API keys" : $"everyone is '{apiOptions.DemoOwnerId}'");
if (!runWorker && mediaGen.IsQueueInProcess)
{
    SampleApiLog.InMemoryWithoutWorker(startupLogger);
}

app.Run();

/// <summary>The API host's entry point; public so tests can start it with WebApplicationFactory.</summary>
public partial class Program;
