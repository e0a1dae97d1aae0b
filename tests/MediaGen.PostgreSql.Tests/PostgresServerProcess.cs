namespace MediaGen.PostgreSql.Tests;

/// <summary>
/// A PostgreSQL cluster of a test's own (the binaries in MEDIAGEN_POSTGRES_BIN, which eng/servers/postgresql.sh exports),
/// in a temporary directory with <c>fsync</c> and synchronous commit on, which the test can kill with SIGKILL (the
/// postmaster and every backend at once, as a crash would) and start again on the same port and data directory. Run as
/// the <c>postgres</c> user when the tests run as root, since PostgreSQL refuses to run as root.
/// </summary>
internal sealed class PostgresServerProcess : IAsyncDisposable
{
    public const string BinVariable = "MEDIAGEN_POSTGRES_BIN";

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("mediagen-postgres-crash");
    private readonly string _bin = ServerEnvironment.Require(BinVariable);
    private bool _initialized;

    public int Port { get; } = TestSupport.FreePort.Next();

    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=mediagen;Database=postgres;Timeout=3";

    private string DataDirectory => Path.Combine(_dir.FullName, "data");

    public async Task StartAsync()
    {
        if (!_initialized)
        {
            if (Environment.IsPrivilegedProcess)
            {
                await RunAsync("chown", ["postgres:", _dir.FullName]);
            }

            await RunAsync(Path.Combine(_bin, "initdb"), ["-D", DataDirectory, "-A", "trust", "-U", "mediagen", "-E", "UTF8", "--no-sync"], asOwner: true);
            _initialized = true;
        }

        var settings = string.Create(CultureInfo.InvariantCulture, $"-p {Port} -k {_dir.FullName} -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=300");
        var log = Path.Combine(_dir.FullName, "log");
        try
        {
            await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataDirectory, "-l", log, "-w", "-t", "60", "-o", settings, "start"], asOwner: true);
        }
        catch (InvalidOperationException e) when (File.Exists(log))
        {
            throw new InvalidOperationException(e.Message + Environment.NewLine + "Server log:" + Environment.NewLine + await File.ReadAllTextAsync(log), e);
        }
    }

    /// <summary>Kills the postmaster and every process it started with SIGKILL: no shutdown checkpoint, crash recovery at the next start.</summary>
    public async Task KillAsync()
    {
        var pidFile = Path.Combine(DataDirectory, "postmaster.pid");
        if (!File.Exists(pidFile) || File.ReadLines(pidFile).FirstOrDefault() is not { Length: > 0 })
        {
            return;
        }

        var pid = int.Parse(File.ReadLines(pidFile).First(), CultureInfo.InvariantCulture);
        var children = Directory.GetDirectories("/proc").Select(d => int.TryParse(Path.GetFileName(d), out var p) ? p : 0).Where(p => p > 0 && ParentOf(p) == pid).ToList();
        foreach (var id in (int[])[pid, .. children])
        {
            try
            {
                using var process = Process.GetProcessById(id);
                process.Kill();
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
        }

        // A new postmaster refuses to start while the old one's pid exists (even unreaped) or a killed backend still holds the
        // old shared memory: wait until every one of them is gone.
        var started = Stopwatch.GetTimestamp();
        while (((int[])[pid, .. children]).Any(p => Directory.Exists($"/proc/{p}")))
        {
            if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromSeconds(10))
            {
                throw new InvalidOperationException("The killed PostgreSQL processes did not exit within 10 s.");
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        if (_dir.Exists)
        {
            _dir.Delete(recursive: true);
        }
    }

    private static int ParentOf(int pid)
    {
        try
        {
            // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static async Task RunAsync(string file, IReadOnlyList<string> arguments, bool asOwner = false)
    {
        var start = asOwner && Environment.IsPrivilegedProcess
            ? new ProcessStartInfo("runuser", ["-u", "postgres", "--", file, .. arguments])
            : new ProcessStartInfo(file, arguments);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await output}{await error}");
        }
    }
}
