namespace MediaGen.TestSupport;

/// <summary>
/// Runs the sample hosts (<c>MediaGen.Samples.Api</c>, <c>MediaGen.Samples.Worker</c>) as separate processes, configured
/// only through their environment, the way a deployment runs them; kills what it started when disposed. The hosts must
/// be built first (test projects reference them with <c>ReferenceOutputAssembly="false"</c>). Also the HTTP waits the
/// multi-process tests share, on real time because real processes are involved.
/// </summary>
/// <param name="environment">The environment every host gets; <see cref="Start"/> can add to it.</param>
public sealed class SampleHosts(IReadOnlyDictionary<string, string> environment) : IDisposable
{
    private const string StartedLine = "Application started.";
    private const string ListeningLine = "Now listening on: ";
    private const int TailLines = 40;
    private readonly List<Process> _processes = [];
    private readonly Dictionary<Process, Host> _hosts = [];

    /// <summary>
    /// Starts a sample host. A web host listens on a loopback port the system picks when it binds, unless the environment
    /// sets <c>ASPNETCORE_URLS</c>: a port chosen before the start could be taken by another process in between, and the
    /// host would fail to bind. <see cref="WaitUntilListeningAsync"/> says which port it got.
    /// </summary>
    /// <param name="project">The sample project's name, for example <c>MediaGen.Samples.Worker</c>.</param>
    /// <param name="overrides">Environment values for this host, over the shared ones.</param>
    /// <param name="output">Receives each line the host writes; null discards them.</param>
    /// <returns>The process.</returns>
    public Process Start(string project, IReadOnlyDictionary<string, string>? overrides = null, Action<string?>? output = null)
    {
        var root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var dll = Path.Combine(root, "samples", project, "bin", configuration, "net10.0", project + ".dll");
        Assert.True(File.Exists(dll), $"{dll} is missing; build the solution first.");
        var start = new ProcessStartInfo("dotnet", [dll]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };

        // The host's lifetime lines say where it listens and when it has started, whatever the default log level.
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        foreach (var (key, value) in overrides ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var host = new Host();
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            host.Read(e.Data);
            output?.Invoke(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            host.Read(e.Data);
            output?.Invoke(e.Data);
        };
        process.Exited += (_, _) => host.Started.TrySetResult(false);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        lock (_processes)
        {
            _processes.Add(process);
            _hosts[process] = host;
        }

        return process;
    }

    /// <summary>
    /// Waits until a host this instance started has started (a web host listens then): it says so on its output, so
    /// nothing is polled. Fails at once if the host exits first, with the last lines it wrote.
    /// </summary>
    /// <param name="process">The host, as <see cref="Start"/> returned it.</param>
    /// <param name="timeout">The longest wait.</param>
    /// <returns>A task that completes once the host has started.</returns>
    /// <exception cref="TimeoutException">The host did not start within <paramref name="timeout"/>.</exception>
    /// <exception cref="InvalidOperationException">The host exited before it started.</exception>
    public async Task WaitUntilStartedAsync(Process process, TimeSpan timeout) => await StartedAsync(process, timeout);

    /// <summary>Waits until a web host this instance started has started, and returns the first address it listens on.</summary>
    /// <param name="process">The host, as <see cref="Start"/> returned it.</param>
    /// <param name="timeout">The longest wait.</param>
    /// <returns>The address, for example <c>http://127.0.0.1:40123/</c>.</returns>
    /// <exception cref="TimeoutException">The host did not start within <paramref name="timeout"/>.</exception>
    /// <exception cref="InvalidOperationException">The host exited before it started, or started without listening.</exception>
    public async Task<Uri> WaitUntilListeningAsync(Process process, TimeSpan timeout)
    {
        var host = await StartedAsync(process, timeout);
        return host.Address ?? throw new InvalidOperationException($"Process {process.Id} started without saying where it listens.");
    }

    private async Task<Host> StartedAsync(Process process, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(process);
        Host host;
        lock (_processes)
        {
            host = _hosts[process];
        }

        using var limit = new CancellationTokenSource(timeout);
        await Waits.BoundedAsync(host.Started.Task, limit.Token, $"process {process.Id} to start");
        if (!await host.Started.Task)
        {
            // Without a timeout, this also waits until the output is read to its end, so the tail is complete.
            process.WaitForExit();
            throw new InvalidOperationException(
                $"Process {process.Id} exited with code {process.ExitCode} before it started. Its last lines:{Environment.NewLine}{host.Tail()}");
        }

        return host;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_processes)
        {
            foreach (var process in _processes)
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit();
                }

                process.Dispose();
            }

            _processes.Clear();
            _hosts.Clear();
        }
    }

    /// <summary>Whether <paramref name="path"/> answers with a success status now.</summary>
    /// <param name="http">The client.</param>
    /// <param name="path">The path.</param>
    /// <returns>True on a 2xx answer; false on another status or no answer.</returns>
    public static async Task<bool> RespondsAsync(HttpClient http, string path)
    {
        try
        {
            using var response = await http.GetAsync(path);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>
    /// Polls <paramref name="condition"/> every 100 ms, failing after <paramref name="timeout"/> of real time. Only for a
    /// condition nothing announces (a server reconnected, a key written in a backend); wait on a job's events with
    /// <see cref="GenerationApiCalls"/> and on a host's start with <see cref="WaitUntilStartedAsync"/>.
    /// </summary>
    /// <param name="condition">What to wait for.</param>
    /// <param name="timeout">The longest wait.</param>
    /// <param name="what">What is awaited, for the failure message.</param>
    /// <returns>A task that completes once the condition holds.</returns>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var started = Stopwatch.GetTimestamp();
        while (!await condition())
        {
            Assert.True(Stopwatch.GetElapsedTime(started) < timeout, $"Timed out waiting for {what}.");
            await Task.Delay(100);
        }
    }

    /// <summary>Counts the caller's jobs in <paramref name="status"/> through the sample API, every page.</summary>
    /// <param name="http">The client.</param>
    /// <param name="status">The status, as the API spells it.</param>
    /// <returns>The count.</returns>
    public static async Task<int> CountAsync(HttpClient http, string status)
    {
        var count = 0;
        string? cursor = null;
        do
        {
            var page = await http.GetFromJsonAsync<JsonElement>($"/api/v1/generations?status={status}&limit=200" + (cursor is null ? string.Empty : $"&cursor={Uri.EscapeDataString(cursor)}"));
            count += page.GetProperty("items").GetArrayLength();
            cursor = page.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        while (cursor is not null);

        return count;
    }

    /// <summary>The caller's credit balance through the sample API.</summary>
    /// <param name="http">The client.</param>
    /// <returns>The balance.</returns>
    public static async Task<long> BalanceAsync(HttpClient http) =>
        (await http.GetFromJsonAsync<JsonElement>("/api/v1/credits")).GetProperty("balance").GetInt64();

    /// <summary>What a host has said: whether it started, where it listens, its last lines.</summary>
    private sealed class Host
    {
        private readonly Queue<string> _tail = new();

        public TaskCompletionSource<bool> Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Uri? Address { get; private set; }

        public void Read(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_tail)
            {
                if (_tail.Count == TailLines)
                {
                    _tail.Dequeue();
                }

                _tail.Enqueue(line);
                var listening = line.IndexOf(ListeningLine, StringComparison.Ordinal);
                if (Address is null && listening >= 0)
                {
                    Address = new Uri(line[(listening + ListeningLine.Length)..].Trim());
                }
            }

            if (line.Contains(StartedLine, StringComparison.Ordinal))
            {
                Started.TrySetResult(true);
            }
        }

        public string Tail()
        {
            lock (_tail)
            {
                return string.Join(Environment.NewLine, _tail);
            }
        }
    }
}
