using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace MediaGen.Generators.HuggingFace.Tests;

/// <summary>
/// A local server on 127.0.0.1 that speaks the Hugging Face inference API for text-to-image:
/// <c>POST /models/{owner}/{name}</c> with <c>{"inputs", "parameters"}</c> returns image bytes; errors are
/// <c>{"error": ...}</c>, 503 while loading carries <c>estimated_time</c>. Tests script its answers and count calls.
/// </summary>
public sealed class FakeHuggingFaceServer : FakeProviderServer
{
    public const string Token = "hf_fake-token-0123456789";

    private readonly ConcurrentQueue<Injected> _injected = new();
    private int _calls;
    private int _served;

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Images actually generated (what the account pays for).</summary>
    public int Served => Volatile.Read(ref _served);

    public ConcurrentQueue<JsonObject> Bodies { get; } = new();

    public ConcurrentQueue<string> Paths { get; } = new();

    public ConcurrentQueue<string> AcceptHeaders { get; } = new();

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
    public void Inject(int status, string json, string? retryAfter = null) => _injected.Enqueue(new Injected(status, json, retryAfter));

    public void InjectLoading(double estimatedTime) =>
        Inject(503, new JsonObject { ["error"] = "Model black-forest-labs/FLUX.1-dev is currently loading", ["estimated_time"] = estimatedTime }.ToJsonString());

    protected override ValueTask OnDisposingAsync()
    {
        BodyGate?.TrySetResult();
        return ValueTask.CompletedTask;
    }

    protected override void Map(WebApplication app) =>
        app.MapPost("/models/{owner}/{name}", (string owner, string name, HttpContext http) => GenerateAsync(http, $"{owner}/{name}"));

    private async Task GenerateAsync(HttpContext http, string model)
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

            await ErrorAsync(http, injected.Status, injected.Json);
            return;
        }

        if (await JsonNode.ParseAsync(http.Request.Body) is not JsonObject body || body["inputs"] is null)
        {
            await ErrorAsync(http, 400, "{\"error\":\"Input should be a valid string\"}");
            return;
        }

        Bodies.Enqueue(body);
        AcceptHeaders.Enqueue(http.Request.Headers.Accept.ToString());
        var png = http.Request.Headers.Accept.ToString().Contains("image/png", StringComparison.Ordinal);
        var image = ImageBytes(ImageSize, png);
        Interlocked.Increment(ref _served);
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

    private sealed record Injected(int Status, string Json, string? RetryAfter);
}
