namespace MediaGen.TestSupport;

/// <summary>
/// A local server on 127.0.0.1 that speaks OpenAI's image generation API as the official OpenAI .NET client calls it:
/// <c>POST /v1/images/generations</c> with bearer-token auth, answering <c>b64_json</c> or a URL it serves itself,
/// <c>usage</c>, OpenAI-style errors with Retry-After, and scripted failures (an answer, a held call, a dropped
/// connection). It counts calls and the images it generated, which is what an account pays for.
/// </summary>
public sealed class FakeOpenAIImagesServer : FakeProviderServer
{
    public const string ApiKey = "sk-fake-images-0123456789";

    private readonly ConcurrentQueue<Injected> _injected = new();
    private readonly ConcurrentDictionary<string, byte[]> _files = new(StringComparer.Ordinal);
    private int _calls;
    private int _imagesGenerated;
    private int _downloads;
    private int _nextId;

    /// <summary>Every generation request, whatever the answer.</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Images actually generated: what the account is billed for.</summary>
    public int ImagesGenerated => Volatile.Read(ref _imagesGenerated);

    public int Downloads => Volatile.Read(ref _downloads);

    /// <summary>The request bodies, in order.</summary>
    public ConcurrentQueue<JsonObject> Bodies { get; } = new();

    /// <summary>The size of each generated image in bytes.</summary>
    public int ImageSize { get; set; } = 4096;

    /// <summary>When set, returns at most this many images whatever <c>n</c> asks, as a moderation filter that drops some does.</summary>
    public int? ImageLimit { get; set; }

    /// <summary>Completes when a generation request has been received (and counted), before it is answered.</summary>
    public TaskCompletionSource CallReceived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>When set, a received call waits for this before it is answered.</summary>
    public TaskCompletionSource? CallGate { get; set; }

    public static async Task<FakeOpenAIImagesServer> StartAsync()
    {
        var server = new FakeOpenAIImagesServer();
        await server.StartServerAsync();
        return server;
    }

    /// <summary>The base address the OpenAI client is pointed at (<c>OpenAIClientOptions.Endpoint</c>).</summary>
    public Uri Endpoint => new(BaseUrl, "v1");

    /// <summary>The bytes of image <paramref name="index"/> of call <paramref name="call"/> (from 1): a PNG signature, then a pattern.</summary>
    public static byte[] ImageBytes(int call, int index, int size)
    {
        var bytes = new byte[size];
        byte[] signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        var seed = Encoding.ASCII.GetBytes($"call{call}/image{index};");
        for (var i = 0; i < size; i++)
        {
            bytes[i] = i < signature.Length ? signature[i] : seed[i % seed.Length];
        }

        return bytes;
    }

    /// <summary>Answers the next call with <paramref name="status"/> and an OpenAI error body instead of images.</summary>
    public void Inject(int status, string message, string? code = null, string? retryAfter = null, string type = "invalid_request_error") =>
        _injected.Enqueue(new Injected(status, message, code, retryAfter, type, Drop: false));

    /// <summary>Receives the next call, generates its images (they are billed), then drops the connection without answering.</summary>
    public void DropNextAfterGenerating() => _injected.Enqueue(new Injected(0, string.Empty, null, null, string.Empty, Drop: true));

    protected override ValueTask OnDisposingAsync()
    {
        CallGate?.TrySetResult();
        return ValueTask.CompletedTask;
    }

    protected override void Map(WebApplication app)
    {
        app.MapPost("/v1/images/generations", GenerateAsync);
        app.MapGet("/files/{name}", DownloadAsync);
    }

    private async Task GenerateAsync(HttpContext http)
    {
        var call = Interlocked.Increment(ref _calls);
        var body = await JsonNode.ParseAsync(http.Request.Body) as JsonObject ?? [];
        Bodies.Enqueue(body);
        CallReceived.TrySetResult();
        if (CallGate is { } gate)
        {
            await gate.Task;
        }

        if (http.Request.Headers.Authorization.ToString() != $"Bearer {ApiKey}")
        {
            await ErrorAsync(http, new Injected(401, "Incorrect API key provided.", "invalid_api_key", null, "invalid_request_error", Drop: false));
            return;
        }

        Injected? injected = _injected.TryDequeue(out var next) ? next : null;
        if (injected is { Drop: false })
        {
            await ErrorAsync(http, injected);
            return;
        }

        if (body["prompt"]?.GetValue<string>() is not { Length: > 0 })
        {
            await ErrorAsync(http, new Injected(400, "Missing required parameter: 'prompt'.", "missing_required_parameter", null, "invalid_request_error", Drop: false));
            return;
        }

        var asked = body["n"]?.GetValue<int>() ?? 1;
        var count = Math.Min(asked, ImageLimit ?? asked);
        Interlocked.Add(ref _imagesGenerated, count);
        if (injected is { Drop: true })
        {
            http.Abort();
            return;
        }

        var asUrl = body["response_format"]?.GetValue<string>() == "url";
        var data = new JsonArray();
        for (var i = 0; i < count; i++)
        {
            var bytes = ImageBytes(call, i, ImageSize);
            if (asUrl)
            {
                var name = $"img{Interlocked.Increment(ref _nextId):D4}.png";
                _files[name] = bytes;
                data.Add(new JsonObject { ["url"] = new Uri(BaseUrl, $"files/{name}").AbsoluteUri, ["revised_prompt"] = null });
            }
            else
            {
                data.Add(new JsonObject { ["b64_json"] = Convert.ToBase64String(bytes) });
            }
        }

        var response = new JsonObject
        {
            ["created"] = 1_764_000_000 + call,
            ["data"] = data,
            ["usage"] = new JsonObject
            {
                ["input_tokens"] = 12,
                ["output_tokens"] = 272 * count,
                ["total_tokens"] = 12 + (272 * count),
                ["input_tokens_details"] = new JsonObject { ["text_tokens"] = 12, ["image_tokens"] = 0 },
            },
        };
        if (body["output_format"]?.GetValue<string>() is { } format)
        {
            response["output_format"] = format;
        }

        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(response.ToJsonString());
    }

    private async Task DownloadAsync(HttpContext http, string name)
    {
        Interlocked.Increment(ref _downloads);
        if (!_files.TryGetValue(name, out var bytes))
        {
            http.Response.StatusCode = 404;
            return;
        }

        http.Response.StatusCode = 200;
        http.Response.ContentType = "image/png";
        http.Response.ContentLength = bytes.Length;
        await http.Response.Body.WriteAsync(bytes);
    }

    private static async Task ErrorAsync(HttpContext http, Injected error)
    {
        http.Response.StatusCode = error.Status;
        http.Response.ContentType = "application/json";
        if (error.RetryAfter is { } retryAfter)
        {
            http.Response.Headers.RetryAfter = retryAfter;
        }

        var body = new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["message"] = error.Message,
                ["type"] = error.Type,
                ["param"] = null,
                ["code"] = error.Code,
            },
        };
        await http.Response.WriteAsync(body.ToJsonString(), Encoding.UTF8);
    }

    private sealed record Injected(int Status, string Message, string? Code, string? RetryAfter, string Type, bool Drop);
}
