using System.Globalization;

namespace MediaGen.TestSupport;

/// <summary>
/// A local server on 127.0.0.1 that speaks Replicate's predictions API: create (model endpoint or version), list
/// (newest first, <c>created_after</c>/<c>created_before</c>, cursor pages), get, cancel, output files, model and
/// version schemas, bearer-token auth, problem-details errors, Retry-After, <c>Prefer: wait</c> (finishing inside the
/// window, or answering a prediction still running when it ends) and <c>Cancel-After</c>. It can lose a create's answer
/// after creating the prediction, as a dropped connection or a gateway error does. Tests script its behaviour and count
/// its calls; the multi-process tests point the sample hosts at it.
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
    private int _listCalls;
    private int _nextId;
    private readonly Lock _drops = new();

    /// <summary>Every create request, whatever the answer.</summary>
    public int CreateCalls => Volatile.Read(ref _createCalls);

    /// <summary>Predictions actually created (what the account pays for).</summary>
    public int PredictionsCreated => Volatile.Read(ref _predictionsCreated);

    public int GetCalls => Volatile.Read(ref _getCalls);

    public int CancelCalls => Volatile.Read(ref _cancelCalls);

    public int DownloadCalls => Volatile.Read(ref _downloadCalls);

    /// <summary>Every list request (each page counts).</summary>
    public int ListCalls => Volatile.Read(ref _listCalls);

    /// <summary>The clock predictions are stamped with (<c>created_at</c>, <c>completed_at</c>) and listings filter on.</summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    /// <summary>How many predictions one page of a listing holds (Replicate's is 100).</summary>
    public int ListPageSize { get; set; } = 100;

    /// <summary>
    /// How many of the next creates make their prediction and then lose the answer: the connection is dropped after the
    /// prediction exists, as when a response never reaches the client.
    /// </summary>
    public int DropCreateResponses { get; set; }

    /// <summary>Statuses the next creates answer with after making their prediction, as a gateway that lost the upstream's answer does.</summary>
    public ConcurrentQueue<int> FailAfterCreate { get; } = new();

    /// <summary>
    /// With <c>Prefer: wait</c>, how many steps a prediction advances while the create is held; null finishes it within
    /// the window. When it has not finished by then, the create answers it as it stands (starting or processing).
    /// </summary>
    public int? WaitWindowSteps { get; set; }

    /// <summary>Every <c>Cancel-After</c> header a create carried.</summary>
    public ConcurrentQueue<string> CancelAfterHeaders { get; } = new();

    /// <summary>The <c>openapi_schema</c> served for a model (<c>owner/name</c>) as its latest version, and for its versions.</summary>
    public ConcurrentDictionary<string, string> ModelSchemas { get; } = new(StringComparer.Ordinal);

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
    public void Inject(string operation, int status, string? detail = null, string? retryAfter = null) =>
        Inject(operation, status, detail, retryAfter is null ? null : () => retryAfter);

    /// <summary>Injects a response whose Retry-After header is computed when it is sent (a date relative to that moment).</summary>
    public void Inject(string operation, int status, string? detail, Func<string>? retryAfter)
    {
        _injected.GetOrAdd(operation, _ => new ConcurrentQueue<InjectedResponse>()).Enqueue(new InjectedResponse(status, detail, retryAfter));
    }

    /// <summary>Drops the responses still waiting to be injected for <paramref name="operation"/>.</summary>
    public void ClearInjected(string operation) => _injected.TryRemove(operation, out _);

    public FakePrediction? Find(string id) => _predictions.GetValueOrDefault(id);

    /// <summary>Adds a prediction as if created earlier (for example by another process), without counting a create.</summary>
    public FakePrediction Seed(string status, string? error = null, string model = "black-forest-labs/flux-schnell", JsonObject? input = null)
    {
        var prediction = NewPrediction(model, null, input ?? new JsonObject { ["prompt"] = "seeded" });
        prediction.Status = status;
        prediction.Error = error;
        prediction.CompletedAt = prediction.IsTerminal ? prediction.CreatedAt : null;
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
        app.MapGet("/v1/predictions", (HttpContext http) => ListAsync(http));
        app.MapGet("/v1/models/{owner}/{name}", (string owner, string name, HttpContext http) => ModelAsync(http, $"{owner}/{name}", version: null));
        app.MapGet("/v1/models/{owner}/{name}/versions/{version}", (string owner, string name, string version, HttpContext http) => ModelAsync(http, $"{owner}/{name}", version));
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

        TimeSpan? lifetime = null;
        if (http.Request.Headers.TryGetValue("Cancel-After", out var cancelAfter))
        {
            CancelAfterHeaders.Enqueue(cancelAfter.ToString());
            lifetime = ParseDuration(cancelAfter.ToString());
            if (lifetime is not { } valid || valid < TimeSpan.FromSeconds(5))
            {
                await ProblemAsync(http, 422, "Invalid Cancel-After", "Cancel-After must be a duration of at least 5 seconds, such as 30s, 5m or 1h30m.");
                return;
            }
        }

        CreateBodies.Enqueue((JsonObject)body.DeepClone());
        var prediction = NewPrediction(model ?? "stability-ai/sdxl", version, (JsonObject)input.DeepClone());
        prediction.Deadline = lifetime is { } l ? prediction.CreatedAt + l : null;
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
                // Holding the response while the prediction runs, as Replicate does within the wait window.
                for (var step = 0; !prediction.IsTerminal && (WaitWindowSteps is not { } steps || step < steps); step++)
                {
                    prediction.Advance();
                }
            }
        }

        bool drop;
        lock (_drops)
        {
            drop = DropCreateResponses > 0;
            DropCreateResponses -= drop ? 1 : 0;
        }

        if (drop)
        {
            http.Abort();
            return;
        }

        if (FailAfterCreate.TryDequeue(out var status))
        {
            await ProblemAsync(http, status, "Bad gateway", "The upstream did not answer in time.");
            return;
        }

        await WriteAsync(http, 201, prediction);
    }

    private async Task ListAsync(HttpContext http)
    {
        Interlocked.Increment(ref _listCalls);
        if (!await AuthorizedAsync(http) || await InjectedAsync(http, "list"))
        {
            return;
        }

        var query = http.Request.Query;
        var after = query.TryGetValue("created_after", out var a) ? DateTimeOffset.Parse(a.ToString(), CultureInfo.InvariantCulture) : DateTimeOffset.MinValue;
        var before = query.TryGetValue("created_before", out var b) ? DateTimeOffset.Parse(b.ToString(), CultureInfo.InvariantCulture) : DateTimeOffset.MaxValue;
        var skip = query.TryGetValue("cursor", out var cursor) ? int.Parse(cursor.ToString(), CultureInfo.InvariantCulture) : 0;
        var matching = _predictions.Values
            .Where(p => p.CreatedAt >= after && p.CreatedAt < before)
            .OrderByDescending(p => p.CreatedAt).ThenByDescending(p => p.Id, StringComparer.Ordinal)
            .ToList();
        var page = matching.Skip(skip).Take(ListPageSize).ToList();
        var results = new JsonArray();
        foreach (var prediction in page)
        {
            results.Add(prediction.ToJson(BaseUrl));
        }

        string? Link(int from)
        {
            var next = QueryString.Create(query.Where(q => q.Key != "cursor").Append(new("cursor", from.ToString(CultureInfo.InvariantCulture))));
            return new Uri(BaseUrl, "v1/predictions" + next.ToUriComponent()).AbsoluteUri;
        }

        var body = new JsonObject
        {
            ["next"] = skip + page.Count < matching.Count ? Link(skip + page.Count) : null,
            ["previous"] = skip > 0 ? Link(Math.Max(0, skip - ListPageSize)) : null,
            ["results"] = results,
        };
        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(body.ToJsonString());
    }

    private async Task ModelAsync(HttpContext http, string model, string? version)
    {
        if (!await AuthorizedAsync(http) || await InjectedAsync(http, "model"))
        {
            return;
        }

        if (!ModelSchemas.TryGetValue(model, out var schema))
        {
            await ProblemAsync(http, 404, "Not found", "The requested resource could not be found.");
            return;
        }

        var versionObject = new JsonObject
        {
            ["id"] = version ?? "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            ["created_at"] = "2026-11-01T00:00:00Z",
            ["cog_version"] = "0.16.8",
            ["openapi_schema"] = JsonNode.Parse(schema),
        };
        var owner = model.Split('/');
        JsonObject answer = version is null
            ? new JsonObject { ["url"] = $"https://replicate.com/{model}", ["owner"] = owner[0], ["name"] = owner[1], ["visibility"] = "public", ["latest_version"] = versionObject }
            : versionObject;
        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(answer.ToJsonString());
    }

    /// <summary>Reads a <c>Cancel-After</c> duration: <c>30</c>, <c>30s</c>, <c>5m</c>, <c>1h30m45s</c>.</summary>
    private static TimeSpan? ParseDuration(string value)
    {
        var match = System.Text.RegularExpressions.Regex.Match(value, @"^(?:(?<plain>\d+)|(?:(?<h>\d+)h)?(?:(?<m>\d+)m)?(?:(?<s>\d+)s)?)$");
        if (!match.Success || value.Length == 0)
        {
            return null;
        }

        if (match.Groups["plain"].Success)
        {
            return TimeSpan.FromSeconds(int.Parse(match.Groups["plain"].Value, CultureInfo.InvariantCulture));
        }

        int Part(string name) => match.Groups[name].Success ? int.Parse(match.Groups[name].Value, CultureInfo.InvariantCulture) : 0;
        return new TimeSpan(Part("h"), Part("m"), Part("s"));
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
        var prediction = new FakePrediction(this, id, model, version, input, PollsUntilDone, FailWith, OutputCount) { CreatedAt = Clock.GetUtcNow() };
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
            http.Response.Headers.RetryAfter = retryAfter();
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

    private sealed record InjectedResponse(int Status, string? Detail, Func<string>? RetryAfter);

    public sealed class FakePrediction(FakeReplicateServer server, string id, string model, string? version, JsonObject input, int pollsUntilDone, string? failWith, int outputCount)
    {
        public string Id { get; } = id;

        public string Model { get; } = model;

        public string? Version { get; } = version;

        public JsonObject Input { get; } = input;

        public string Status { get; set; } = "starting";

        public string? Error { get; set; }

        public int Polls { get; private set; }

        public DateTimeOffset CreatedAt { get; set; }

        public DateTimeOffset? CompletedAt { get; set; }

        /// <summary>The <c>Cancel-After</c> deadline the create asked for, if any.</summary>
        public DateTimeOffset? Deadline { get; set; }

        /// <summary>Whether Replicate removed the input and output, as it does an hour after an API prediction ends.</summary>
        public bool DataRemoved { get; set; }

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

                CompletedAt = server.Clock.GetUtcNow();
            }
        }

        public JsonObject ToJson(Uri baseUrl)
        {
            lock (this)
            {
                JsonNode? output = null;
                if (Status == "succeeded" && !DataRemoved)
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
                    ["input"] = DataRemoved ? new JsonObject() : Input.DeepClone(),
                    ["logs"] = Status == "starting" || DataRemoved ? string.Empty : logs.ToString(),
                    ["output"] = output,
                    ["data_removed"] = DataRemoved,
                    ["error"] = Error,
                    ["status"] = Status,
                    ["source"] = "api",
                    ["created_at"] = Stamp(CreatedAt),
                    ["completed_at"] = CompletedAt is { } completed ? Stamp(completed) : null,
                    ["deadline"] = Deadline is { } deadline ? Stamp(deadline) : null,
                    ["urls"] = new JsonObject
                    {
                        ["cancel"] = new Uri(baseUrl, $"v1/predictions/{Id}/cancel").AbsoluteUri,
                        ["get"] = new Uri(baseUrl, $"v1/predictions/{Id}").AbsoluteUri,
                    },
                };
            }
        }

        private static string CultureInfoInvariant(FormattableString text) => FormattableString.Invariant(text);

        private static string Stamp(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
    }
}
