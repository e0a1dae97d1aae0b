using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace MediaGen.Generators.HuggingFace.Tests;

/// <summary>
/// A local server on 127.0.0.1 that speaks Hugging Face's inference router for text-to-image:
/// <c>POST /hf-inference/models/{owner}/{name}</c> with <c>{"inputs", "parameters"}</c> returns image bytes, or JSON
/// (<c>data[].b64_json</c> or an <c>output</c> URL) when told to; <c>POST /fal-ai/{model}</c> returns
/// <c>images[].url</c> (a data URI in sync mode, else a file URL); <c>POST /{provider}/v1/images/generations</c> returns
/// <c>data[].b64_json</c>. Errors are <c>{"error": ...}</c>, 503 while loading carries <c>estimated_time</c>, and a 429
/// can carry a <c>RateLimit</c> header instead of Retry-After. Tests script its answers and count calls.
/// </summary>
public sealed class FakeHuggingFaceServer : FakeProviderServer
{
    public const string Token = "hf_fake-token-0123456789";

    private readonly ConcurrentQueue<Injected> _injected = new();
    private int _calls;
    private int _served;
    private int _fileDownloads;

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Images actually generated (what the account pays for).</summary>
    public int Served => Volatile.Read(ref _served);

    public ConcurrentQueue<JsonObject> Bodies { get; } = new();

    public ConcurrentQueue<string> Paths { get; } = new();

    public ConcurrentQueue<string> AcceptHeaders { get; } = new();

    /// <summary>How hf-inference answers: <c>null</c> with the image bytes, <c>b64_json</c> or <c>output_url</c> with JSON.</summary>
    public string? HfInferenceJson { get; set; }

    /// <summary>Whether fal-ai answers with data URIs (its sync mode) rather than file URLs.</summary>
    public bool FalDataUris { get; set; } = true;

    /// <summary>When set, fal-ai answers with what this returns for its usual file URL: a URL or data URI a model chose.</summary>
    public Func<string, string>? FalImageUrl { get; set; }

    /// <summary>Image files served at <c>/files/{name}</c>, counted as they are downloaded.</summary>
    public int FileDownloads => Volatile.Read(ref _fileDownloads);

    public int ImageSize { get; set; } = 32 * 1024;

    /// <summary>Whether the image is sent without a Content-Type header.</summary>
    public bool OmitContentType { get; set; }

    /// <summary>When set, the image body sends its first half, completes <see cref="FirstHalfSent"/>, then waits for this.</summary>
    public TaskCompletionSource? BodyGate { get; set; }

    public TaskCompletionSource FirstHalfSent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<FakeHuggingFaceServer> StartAsync()
    {
        var server = new FakeHuggingFaceServer();
        await server.StartServerAsync();
        return server;
    }

    public static byte[] ImageBytes(int size, bool png)
    {
        var bytes = new byte[size];
        byte[] magic = png ? [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] : [0xFF, 0xD8, 0xFF, 0xE0];
        for (var i = 0; i < size; i++)
        {
            bytes[i] = i < magic.Length ? magic[i] : (byte)(i * 31 % 251);
        }

        return bytes;
    }

    /// <summary>Answers the next call with this status and JSON body instead of an image.</summary>
    public void Inject(int status, string json, string? retryAfter = null, string? rateLimit = null) => _injected.Enqueue(new Injected(status, json, retryAfter, rateLimit));

    public void InjectLoading(double estimatedTime) =>
        Inject(503, new JsonObject { ["error"] = "Model black-forest-labs/FLUX.1-dev is currently loading", ["estimated_time"] = estimatedTime }.ToJsonString());

    protected override ValueTask OnDisposingAsync()
    {
        BodyGate?.TrySetResult();
        return ValueTask.CompletedTask;
    }

    protected override void Map(WebApplication app)
    {
        app.MapPost("/hf-inference/models/{owner}/{name}", (string owner, string name, HttpContext http) => GenerateAsync(http, "hf-inference"));
        app.MapPost("/fal-ai/{**model}", (string model, HttpContext http) => GenerateAsync(http, "fal-ai"));
        app.MapPost("/{provider}/v1/images/generations", (string provider, HttpContext http) => GenerateAsync(http, provider));
        app.MapGet("/files/{name}", async (string name, HttpContext http) =>
        {
            Interlocked.Increment(ref _fileDownloads);
            var png = name.EndsWith(".png", StringComparison.Ordinal);
            http.Response.ContentType = png ? "image/png" : "image/jpeg";
            await http.Response.Body.WriteAsync(ImageBytes(ImageSize, png));
        });
    }

    private async Task GenerateAsync(HttpContext http, string provider)
    {
        Interlocked.Increment(ref _calls);
        Paths.Enqueue(http.Request.Path.Value!);
        if (http.Request.Headers.Authorization.ToString() != $"Bearer {Token}")
        {
            await ErrorAsync(http, 401, "{\"error\":\"Invalid credentials in Authorization header\"}");
            return;
        }

        if (_injected.TryDequeue(out var injected))
        {
            if (injected.RetryAfter is { } retryAfter)
            {
                http.Response.Headers.RetryAfter = retryAfter;
            }

            if (injected.RateLimit is { } rateLimit)
            {
                http.Response.Headers["RateLimit"] = rateLimit;
                http.Response.Headers["RateLimit-Policy"] = "\"fixed window\";\"api\";q=1000;w=300";
            }

            await ErrorAsync(http, injected.Status, injected.Json);
            return;
        }

        if (await JsonNode.ParseAsync(http.Request.Body) is not JsonObject body || body[provider == "hf-inference" ? "inputs" : "prompt"] is null)
        {
            await ErrorAsync(http, 400, "{\"error\":\"Input should be a valid string\"}");
            return;
        }

        Bodies.Enqueue(body);
        AcceptHeaders.Enqueue(http.Request.Headers.Accept.ToString());
        var png = http.Request.Headers.Accept.ToString().Contains("image/png", StringComparison.Ordinal) || body["output_format"]?.GetValue<string>() == "png";
        var image = ImageBytes(ImageSize, png);
        Interlocked.Increment(ref _served);
        var file = new Uri(BaseUrl, $"files/out-{Served}.{(png ? "png" : "jpg")}").AbsoluteUri;
        var json = provider switch
        {
            "hf-inference" => HfInferenceJson switch
            {
                "b64_json" => new JsonObject { ["data"] = new JsonArray(new JsonObject { ["b64_json"] = Convert.ToBase64String(image) }) },
                "output_url" => new JsonObject { ["output"] = new JsonArray(file) },
                _ => null,
            },
            "fal-ai" => new JsonObject
            {
                ["images"] = new JsonArray(new JsonObject
                {
                    ["url"] = FalImageUrl is { } chosen ? chosen(file) : FalDataUris ? $"data:{(png ? "image/png" : "image/jpeg")};base64,{Convert.ToBase64String(image)}" : file,
                    ["content_type"] = png ? "image/png" : "image/jpeg",
                    ["width"] = 1024,
                    ["height"] = 768,
                }),
                ["seed"] = 42,
                ["has_nsfw_concepts"] = new JsonArray(false),
            },
            _ => new JsonObject { ["data"] = new JsonArray(new JsonObject { ["b64_json"] = Convert.ToBase64String(image) }) },
        };
        if (json is not null)
        {
            http.Response.StatusCode = 200;
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(json.ToJsonString());
            return;
        }

        http.Response.StatusCode = 200;
        if (!OmitContentType)
        {
            http.Response.ContentType = png ? "image/png" : "image/jpeg";
        }

        http.Response.ContentLength = image.Length;
        if (BodyGate is { } gate)
        {
            await http.Response.Body.WriteAsync(image.AsMemory(0, image.Length / 2));
            await http.Response.Body.FlushAsync();
            FirstHalfSent.TrySetResult();
            await gate.Task;
            await http.Response.Body.WriteAsync(image.AsMemory(image.Length / 2));
            return;
        }

        await http.Response.Body.WriteAsync(image);
    }

    private static async Task ErrorAsync(HttpContext http, int status, string json)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(json, Encoding.UTF8);
    }

    private sealed record Injected(int Status, string Json, string? RetryAfter, string? RateLimit);
}
