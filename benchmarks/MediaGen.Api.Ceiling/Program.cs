// The ceiling for the submission benchmark: a bare ASP.NET Core endpoint on the same host settings as the sample API
// that parses the same request body, checks it as cheaply as possible, and answers 202 with a small job-shaped body.
// Nothing is stored: whatever the sample API takes beyond this is MediaGen's (and its backend's) cost.
// With CEILING_STATIC_ROOT set, it also serves that folder under /static/ through ASP.NET Core's static file middleware:
// the peer of the media endpoint in benchmarks/media-get.sh.
using System.Text.Json;
using System.Text.Json.Serialization;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, CeilingJson.Default));
var app = builder.Build();
if (Environment.GetEnvironmentVariable("CEILING_STATIC_ROOT") is { Length: > 0 } staticRoot)
{
    app.UseStaticFiles(new StaticFileOptions
    {
        FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(staticRoot),
        RequestPath = "/static",
        ServeUnknownFileTypes = true,
    });
}

var sequence = 0L;
app.MapPost("/api/v1/generations", (SubmitBody body) =>
    string.IsNullOrWhiteSpace(body.Prompt) || string.IsNullOrWhiteSpace(body.Model)
        ? Results.BadRequest()
        : Results.Json(new Accepted(Interlocked.Increment(ref sequence).ToString("x32", System.Globalization.CultureInfo.InvariantCulture), "pending", body.Model), CeilingJson.Default.Accepted, statusCode: 202));
app.Run();

/// <summary>The fields of the sample API's request body.</summary>
internal sealed record SubmitBody(
    string? Prompt,
    string? NegativePrompt,
    string? Model,
    int? Width,
    int? Height,
    string? AspectRatio,
    int? OutputCount,
    string? OutputFormat,
    long? Seed,
    Dictionary<string, JsonElement>? Parameters,
    string? WebhookUrl,
    string? Priority);

/// <summary>A job-shaped answer.</summary>
internal sealed record Accepted(string Id, string Status, string Model);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(SubmitBody))]
[JsonSerializable(typeof(Accepted))]
internal sealed partial class CeilingJson : JsonSerializerContext;
