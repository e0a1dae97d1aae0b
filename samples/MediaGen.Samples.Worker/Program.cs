using MediaGen.Samples.Hosting;
using MediaGen.Samples.Worker;
using Microsoft.Extensions.Diagnostics.HealthChecks;

// A worker-only host: receives jobs from the configured queue and runs them. It accepts no submissions itself, so it
// is useful with a queue other processes share (MediaGen:Queue:Provider = Redis or ServiceBus).
var builder = Host.CreateApplicationBuilder(args);
MediaGenHostSetup mediaGen;
try
{
    mediaGen = builder.Services.AddMediaGenerationFromConfiguration(builder.Configuration).AddWorker();
}
catch (MediaGenConfigurationException e)
{
    // The message names every offending key; a stack trace would only hide it.
    await Console.Error.WriteLineAsync(e.Message);
    return 1;
}

// MediaGen's metrics and spans, over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT or MediaGen:Telemetry:OtlpEndpoint is set.
builder.Services.AddSampleTelemetry(builder.Configuration, mediaGen.Telemetry, "mediagen-samples-worker");
// Health published to a file every 10 s, for the container's HEALTHCHECK (no HTTP server here).
builder.Services.AddSingleton<IHealthCheckPublisher>(new HealthFilePublisher(HealthFilePublisher.DefaultPath));
builder.Services.Configure<HealthCheckPublisherOptions>(o => o.Period = TimeSpan.FromSeconds(10));

using var host = builder.Build();
var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MediaGen.Samples.Worker");
WorkerLog.Started(logger, mediaGen.QueueProvider, mediaGen.StorageProvider);
if (mediaGen.IsQueueInProcess)
{
    WorkerLog.InMemoryQueue(logger);
}

await host.RunAsync();
return 0;
