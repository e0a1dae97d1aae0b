using System.Text.Json;
using System.Text.Json.Serialization;
using MediaGen;
using MediaGen.Samples.Api;
using MediaGen.Samples.Hosting;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

var builder = WebApplication.CreateBuilder(args);

// MediaGen from configuration (MediaGen:Queue:Provider, MediaGen:Storage:Provider, ...). With no configuration at all:
// the in-memory queue, job store, ledger and events, file-system storage, the procedural generator, and the worker here.
var mediaGen = builder.Services.AddMediaGenerationFromConfiguration(builder.Configuration);
var runWorker = mediaGen.WorkerEnabled ?? mediaGen.IsQueueInProcess;
if (runWorker)
{
    mediaGen.AddWorker();
}

var apiOptions = SampleApiOptions.Read(builder.Configuration);
builder.Services.AddSingleton(Options.Create(apiOptions));
builder.Services.AddSingleton<OwnerResolver>();
builder.Services.AddSingleton<ResponseMapper>();

builder.Services.ConfigureHttpJsonOptions(o =>
{
    o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
    o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
});
// Malformed bodies and parameters throw, so the exception handler answers them with ProblemDetails too.
builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = c => c.ProblemDetails.Extensions.TryAdd("traceId", c.HttpContext.TraceIdentifier));
builder.Services.AddExceptionHandler<MediaGenExceptionHandler>();
builder.Services.AddOpenApi();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseDefaultFiles();
app.UseStaticFiles();

// File-system storage hands out read URLs under /media/: serve its root there.
var storage = app.Services.GetRequiredService<IOptions<FileSystemStorageOptions>>().Value;
if (mediaGen.StorageProvider == MediaGenHostingExtensions.FileSystemProvider && storage.PublicBaseUrl.StartsWith('/'))
{
    var root = Path.GetFullPath(storage.RootPath);
    Directory.CreateDirectory(root);
    app.UseStaticFiles(new StaticFileOptions
    {
        FileProvider = new PhysicalFileProvider(root),
        RequestPath = storage.PublicBaseUrl.TrimEnd('/'),
    });
}

app.MapOpenApi();
app.MapHealthChecks("/health");
app.MapGenerationEndpoints();

var startupLogger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MediaGen.Samples.Api");
SampleApiLog.Started(startupLogger, mediaGen.QueueProvider, mediaGen.StorageProvider, runWorker, apiOptions.ApiKeys.Count > 0 ? "API keys" : $"everyone is '{apiOptions.DemoOwnerId}'");
if (!runWorker && mediaGen.IsQueueInProcess)
{
    SampleApiLog.InMemoryWithoutWorker(startupLogger);
}

app.Run();

/// <summary>The API host's entry point; public so tests can start it with WebApplicationFactory.</summary>
public partial class Program;
