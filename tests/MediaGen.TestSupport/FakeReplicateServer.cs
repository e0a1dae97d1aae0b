using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace MediaGen.TestSupport;

/// <summary>
/// A local server on 127.0.0.1 that speaks Replicate's predictions API: create (model endpoint or version),
/// get, cancel, output files, bearer-token auth, problem-details errors, Retry-After, and <c>Prefer: wait</c>.
/// Tests script its behaviour and count its calls; the multi-process tests point the sample hosts at it.
/// </summary>
public sealed class FakeReplicateServer : FakeProviderServer
{
    public const string Token = "r8_fake-token-0123456789";

    private readonly ConcurrentDictionary<string, FakePrediction> _predictions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<InjectedResponse>> _injected = new(StringComparer.Ordinal);
    private int _createCalls;
    private int _predictionsCreated;
    private int _getCalls;
    private int _cancelCalls;
    private int _downloadCalls;
    private int _nextId;

    /// <summary>Every create request, whatever the answer.</summary>
    public int CreateCalls => Volatile.Read(ref _createCalls);

    /// <summary>Predictions actually created (what the account pays for).</summary>
    public int PredictionsCreated => Volatile.Read(ref _predictionsCreated);

    public int GetCalls => Volatile.Read(ref _getCalls);

    public int CancelCalls => Volatile.Read(ref _cancelCalls);

    public int DownloadCalls => Volatile.Read(ref _downloadCalls);

    /// <summary>How many polls a new prediction needs before it ends.</summary>
    public int PollsUntilDone { get; set; } = 1;

    public int OutputCount { get; set; } = 1;

    /// <summary>When set, new predictions end <c>failed</c> with this error text.</summary>
    public string? FailWith { get; set; }

    /// <summary>The output file extension; null serves outputs at URLs without one (content type from the response only).</summary>
    public string? OutputExtension { get; set; } = "webp";

    /// <summary>Whether outputs are data URIs instead of URLs (as some models answer with <c>Prefer: wait</c>).</summary>
    public bool DataUriOutputs { get; set; }

    /// <summary>
    /// When set, a succeeded prediction returns at most this many outputs whatever <c>num_outputs</c> asks, as Replicate
    /// does when its safety checker drops images.
    /// </summary>
    public int? OutputLimit { get; set; }

    /// <summary>Outputs at these positions are data URIs that are not base64, so they cannot be read.</summary>
    public ISet<int> BrokenOutputs { get; } = new HashSet<int>();

    /// <summary>When set, an output download sends its first half, then waits for this before sending the rest.</summary>
    public TaskCompletionSource? OutputGate { get; set; }

    public int OutputSize { get; set; } = 64 * 1024;

    /// <summary>When set, a create is received and counted, completes <see cref="CreateReceived"/>, then waits for this before answering.</summary>
    public TaskCompletionSource? CreateGate { get; set; }

    public TaskCompletionSource CreateReceived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentQueue<JsonObject> CreateBodies { get; } = new();

    /// <summary>When each create request arrived, on the system clock, whatever the answer.</summary>
    public ConcurrentQueue<DateTimeOffset> CreateArrivals { get; } = new();

    public ConcurrentQueue<string> PreferHeaders { get; } = new();

    public static async Task<FakeReplicateServer> StartAsync()
    {
        var server = new FakeReplicateServer();
        await server.StartServerAsync();
        return server;
    }

    public static byte[] OutputBytes(string predictionId, int index, int size)
    {
        var bytes = new byte[size];
        var seed = Encoding.ASCII.GetBytes($"{predictionId}/{index};");
        for (var i = 0; i < size; i++)
        {
            bytes[i] = seed[i % seed.Length];
        }

        return bytes;
    }

    /// <summary>Answers the next <paramref name="operation"/> call (create, get, cancel, download) with this response instead.</summary>
    public void Inject(string operation, int status, string? detail = null, string? retryAfter = null)
    {
        _injected.GetOrAdd(operation, _ => new ConcurrentQueue<InjectedResponse>()).Enqueue(new InjectedResponse(status, detail, retryAfter));
    }

    /// <summary>Drops the responses still waiting to be injected for <paramref name="operation"/>.</summary>
    public void ClearInjected(string operation) => _injected.TryRemove(operation, out _);

    public FakePrediction? Find(string id) => _predictions.GetValueOrDefault(id);

    /// <summary>Adds a prediction as if created earlier (for example by another process), without counting a create.</summary>
    public FakePrediction Seed(string status, string? error = null)
    {
        var prediction = NewPrediction("black-forest-labs/flux-schnell", null, new JsonObject { ["prompt"] = "seeded" });
        prediction.Status = status;
        prediction.Error = error;
        return prediction;
    }

    protected override ValueTask OnDisposingAsync()
    {
        OutputGate?.TrySetResult();
        CreateGate?.TrySetResult();
        return ValueTask.CompletedTask;
    }

    protected override void Map(WebApplication app)
    {
        app.MapPost("/v1/models/{owner}/{name}/predictions", (string owner, string name, HttpContext http) => CreateAsync(http, $"{owner}/{name}", version: null));
        app.MapPost("/v1/predictions", (HttpContext http) => CreateAsync(http, model: null, version: string.Empty));
        app.MapGet("/v1/predictions/{id}", (string id, HttpContext http) => GetAsync(http, id));
        app.MapPost("/v1/predictions/{id}/cancel", (string id, HttpContext http) => CancelAsync(http, id));
        app.MapGet("/files/{id}/{file}", (string id, string file, HttpContext http) => DownloadAsync(http, id, file));
    }

    private async Task CreateAsync(HttpContext http, string? model, string? version)
    {
        CreateArrivals.Enqueue(TimeProvider.System.GetUtcNow());
        Interlocked.Increment(ref _createCalls);
        if (!await AuthorizedAsync(http) || await InjectedAsync(http, "create"))
        {
            return;
        }

        var body = await JsonNode.ParseAsync(http.Request.Body) as JsonObject;
        if (body?["input"] is not JsonObject input || input["prompt"] is null)
        {
            await ProblemAsync(http, 422, "Input validation failed", "- input: prompt is required");
            return;
        }

        if (version is not null)
        {
            version = body["version"]?.GetValue<string>();
            if (string.IsNullOrEmpty(version))
            {
                await ProblemAsync(http, 422, "Invalid version", "version is required");
                return;
            }
        }

        CreateBodies.Enqueue((JsonObject)body.DeepClone());
        var prediction = NewPrediction(model ?? "stability-ai/sdxl", version, (JsonObject)input.DeepClone());
        Interlocked.Increment(ref _predictionsCreated);
        if (CreateGate is { } gate)
        {
            CreateReceived.TrySetResult();
            await gate.Task;
        }
        if (http.Request.Headers.TryGetValue("Prefer", out var prefer))
        {
            PreferHeaders.Enqueue(prefer.ToString());
            if (prefer.ToString().StartsWith("wait", StringComparison.Ordinal))
            {
                // Holding the response until the prediction ends, as Replicate does within the wait window.
                while (!prediction.IsTerminal)
                {
                    prediction.Advance();
                }
            }
        }

        await WriteAsync(http, 201, prediction);
    }

    private async Task GetAsync(HttpContext http, string id)
    {
        Interlocked.Increment(ref _getCalls);
        if (!await AuthorizedAsync(http) || await InjectedAsync(http, "get"))
        {
            return;
        }

        if (!_predictions.TryGetValue(id, out var prediction))
        {
            await ProblemAsync(http, 404, "Not found", "The requested resource could not be found.");
            return;
        }

        prediction.Advance();
        await WriteAsync(http, 200, prediction);
    }

    private async Task CancelAsync(HttpContext http, string id)
    {
        Interlocked.Increment(ref _cancelCalls);
        if (!await AuthorizedAsync(http) || await InjectedAsync(http, "cancel"))
        {
            return;
        }

        if (!_predictions.TryGetValue(id, out var prediction))
        {
            await ProblemAsync(http, 404, "Not found", "The requested resource could not be found.");
            return;
        }

        lock (prediction)
        {
            if (!prediction.IsTerminal)
            {
                prediction.Status = "canceled";
            }
        }

        await WriteAsync(http, 200, prediction);
    }

    private async Task DownloadAsync(HttpContext http, string id, string file)
    {
        Interlocked.Increment(ref _downloadCalls);
        if (await InjectedAsync(http, "download"))
        {
            return;
        }

        var name = Path.GetFileNameWithoutExtension(file);
        var extension = Path.GetExtension(file);
        if (!_predictions.ContainsKey(id) || !int.TryParse(name.Replace("out-", string.Empty, StringComparison.Ordinal), out var index))
        {
            http.Response.StatusCode = 404;
            return;
        }

        var bytes = OutputBytes(id, index, OutputSize);
        http.Response.StatusCode = 200;
        http.Response.ContentType = extension switch
        {
            ".webp" => "image/webp",
            ".jpg" => "image/jpeg",
            ".png" => "image/png",
            _ => "image/png",
        };
        http.Response.ContentLength = bytes.Length;
        if (OutputGate is { } gate)
        {
            var half = bytes.Length / 2;
            await http.Response.Body.WriteAsync(bytes.AsMemory(0, half));
            await http.Response.Body.FlushAsync();
            await gate.Task;
            await http.Response.Body.WriteAsync(bytes.AsMemory(half));
            return;
        }

        await http.Response.Body.WriteAsync(bytes);
    }

    private FakePrediction NewPrediction(string model, string? version, JsonObject input)
    {
        var id = $"pred{Interlocked.Increment(ref _nextId):D4}fake";
        var prediction = new FakePrediction(this, id, model, version, input, PollsUntilDone, FailWith, OutputCount);
        _predictions[id] = prediction;
        return prediction;
    }

    private static async Task<bool> AuthorizedAsync(HttpContext http)
    {
        if (http.Request.Headers.Authorization.ToString() == $"Bearer {Token}")
        {
            return true;
        }

        await ProblemAsync(http, 401, "Unauthenticated", "You did not pass a valid authentication token");
        return false;
    }

    private async Task<bool> InjectedAsync(HttpContext http, string operation)
    {
        if (!_injected.TryGetValue(operation, out var queue) || !queue.TryDequeue(out var injected))
        {
            return false;
        }

        if (injected.RetryAfter is { } retryAfter)
        {
            http.Response.Headers.RetryAfter = retryAfter;
        }

        var title = injected.Status switch
        {
            429 => "Request was throttled.",
            401 => "Unauthenticated",
            403 => "Forbidden",
            404 => "Not found",
            422 => "Input validation failed",
            _ => "Internal server error",
        };
        await ProblemAsync(http, injected.Status, title, injected.Detail ?? title);
        return true;
    }

    private static async Task ProblemAsync(HttpContext http, int status, string title, string detail)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/problem+json";
        await http.Response.WriteAsync(new JsonObject { ["title"] = title, ["detail"] = detail, ["status"] = status }.ToJsonString());
    }

    private async Task WriteAsync(HttpContext http, int status, FakePrediction prediction)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(prediction.ToJson(BaseUrl).ToJsonString());
    }

    private sealed record InjectedResponse(int Status, string? Detail, string? RetryAfter);

    public sealed class FakePrediction(FakeReplicateServer server, string id, string model, string? version, JsonObject input, int pollsUntilDone, string? failWith, int outputCount)
    {
        public string Id { get; } = id;

        public string Model { get; } = model;

        public string? Version { get; } = version;

        public JsonObject Input { get; } = input;

        public string Status { get; set; } = "starting";

        public string? Error { get; set; }

        public int Polls { get; private set; }

        public bool IsTerminal => Status is "succeeded" or "failed" or "canceled" or "aborted";

        public void Advance()
        {
            lock (this)
            {
                if (IsTerminal)
                {
                    return;
                }

                Polls++;
                if (Polls < pollsUntilDone)
                {
                    Status = "processing";
                    return;
                }

                if (failWith is not null)
                {
                    Status = "failed";
                    Error = failWith;
                }
                else
                {
                    Status = "succeeded";
                }
            }
        }

        public JsonObject ToJson(Uri baseUrl)
        {
            lock (this)
            {
                JsonNode? output = null;
                if (Status == "succeeded")
                {
                    var count = Math.Min(Input["num_outputs"]?.GetValue<int>() ?? outputCount, server.OutputLimit ?? int.MaxValue);
                    var files = new JsonArray();
                    for (var i = 0; i < count; i++)
                    {
                        files.Add(server.BrokenOutputs.Contains(i) ? "data:image/png;base64,@@not-base64@@"
                            : server.DataUriOutputs
                            ? $"data:image/png;base64,{Convert.ToBase64String(OutputBytes(Id, i, 256))}"
                            : new Uri(baseUrl, $"files/{Id}/out-{i}{(server.OutputExtension is { } e ? "." + e : string.Empty)}").AbsoluteUri);
                    }

                    output = files;
                }

                var logs = new StringBuilder();
                var total = Math.Max(pollsUntilDone, 1);
                for (var step = 1; step <= Math.Min(Polls, total); step++)
                {
                    var percent = step * 100 / total;
                    logs.Append(CultureInfoInvariant($"{percent,3}%|{new string('#', percent / 10),-10}| {step}/{total} [00:0{step % 10}<00:00,  1.50it/s]\n"));
                }

                return new JsonObject
                {
                    ["id"] = Id,
                    ["model"] = Model,
                    ["version"] = Version ?? "hidden",
                    ["input"] = Input.DeepClone(),
                    ["logs"] = Status == "starting" ? string.Empty : logs.ToString(),
                    ["output"] = output,
                    ["data_removed"] = false,
                    ["error"] = Error,
                    ["status"] = Status,
                    ["created_at"] = "2026-11-23T05:00:00.000Z",
                    ["urls"] = new JsonObject
                    {
                        ["cancel"] = new Uri(baseUrl, $"v1/predictions/{Id}/cancel").AbsoluteUri,
                        ["get"] = new Uri(baseUrl, $"v1/predictions/{Id}").AbsoluteUri,
                    },
                };
            }
        }

        private static string CultureInfoInvariant(FormattableString text) => FormattableString.Invariant(text);
    }
}
