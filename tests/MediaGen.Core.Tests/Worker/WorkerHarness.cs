using System.Collections.Concurrent;
using System.Diagnostics;
using MediaGen.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Xunit.Sdk;

namespace MediaGen.Core.Tests.Worker;

/// <summary>
/// Hosts the worker through a real service collection on a fake clock. The queue, job store, ledger, event stream,
/// cancel signal and provider pause store are created here and shared by every host the test starts, as a shared
/// backend's would be (Redis), so a second host can pick up what a stopped one handed back, cancel what another runs,
/// and see another's rate-limit pause.
/// </summary>
internal sealed class WorkerHarness : IAsyncDisposable
{
    public const string Owner = "alice";
    public const long InitialBalance = 100;
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan RealTimeout = TimeSpan.FromSeconds(10);

    private readonly List<IHost> _hosts = [];
    private readonly Dictionary<IHost, Task> _stops = [];

    public WorkerHarness()
    {
        Root = Path.Combine(Path.GetTempPath(), "mediagen-worker-tests", Guid.NewGuid().ToString("N"));
        Queue = new InMemoryJobQueue(Options.Create(new InMemoryJobQueueOptions { LeaseDuration = LeaseDuration }), Time);
        Store = new InMemoryJobStore(Time);
        Ledger = new InMemoryCreditLedger(Options.Create(new CreditLedgerOptions { InitialBalance = InitialBalance }), Time);
        Events = new InMemoryJobEventStream();
        Published = new RecordingEventStream(Events);
    }

    /// <summary>The cancel signal every host shares; it can hold deliveries back, as a slow transport would.</summary>
    public HoldingCancelSignal CancelSignal { get; } = new(new InMemoryJobCancelSignal());

    /// <summary>The provider pauses every host shares.</summary>
    public InMemoryProviderPauseStore Pauses { get; } = new();

    public FakeTimeProvider Time { get; } = new(Start);

    public string Root { get; }

    public InMemoryJobQueue Queue { get; }

    public InMemoryJobStore Store { get; }

    public InMemoryCreditLedger Ledger { get; }

    public InMemoryJobEventStream Events { get; }

    /// <summary>Every event the hosts published, in order; the hosts publish through it to <see cref="Events"/>.</summary>
    public RecordingEventStream Published { get; }

    /// <summary>
    /// Starts a host running the worker with test defaults: no jitter, a 2 s first retry delay, three attempts, no
    /// sweeper (tests that move the clock far would otherwise race it), and a 20 s drain.
    /// </summary>
    public async Task<IHost> StartHostAsync(
        IEnumerable<IMediaGenerator> generators,
        Action<MediaGenerationWorkerOptions>? worker = null,
        Action<MediaGenerationOptions>? options = null)
    {
        var host = new HostBuilder()
            .ConfigureServices(services =>
            {
                services.AddSingleton<TimeProvider>(Time);
                services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddFakeLogging());
                services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
                var builder = services
                    .AddMediaGeneration(o =>
                    {
                        o.MaxAttempts = 3;
                        options?.Invoke(o);
                    })
                    .UseQueue(_ => Queue)
                    .UseJobStore(_ => Store)
                    .UseCreditLedger(_ => Ledger)
                    .UseEventStream(_ => Published)
                    .UseCancelSignal(_ => CancelSignal)
                    .UseProviderPauseStore(_ => Pauses)
                    .UseFileSystemStorage(o => o.RootPath = Root)
                    .AddWorker(o =>
                    {
                        o.Concurrency = 4;
                        o.SweepInterval = TimeSpan.Zero;
                        o.DrainTimeout = DrainTimeout;
                        o.Retry.Delay = TimeSpan.FromSeconds(2);
                        o.Retry.UseJitter = false;
                        worker?.Invoke(o);
                    });
                foreach (var generator in generators)
                {
                    builder.AddGenerator(generator);
                }
            })
            .Build();
        _hosts.Add(host);
        await host.StartAsync();
        return host;
    }

    public Task<IHost> StartHostAsync(IMediaGenerator generator, Action<MediaGenerationWorkerOptions>? worker = null, Action<MediaGenerationOptions>? options = null) =>
        StartHostAsync([generator], worker, options);

    public static IMediaGenerationClient Client(IHost host) => host.Services.GetRequiredService<IMediaGenerationClient>();

    public static async Task<GenerationJob> SubmitAsync(IHost host, ScriptedGenerator generator, string? prompt = null, int? outputCount = null)
    {
        var result = await Client(host).SubmitAsync(new GenerationRequest
        {
            Prompt = prompt ?? "a lighthouse at dusk",
            Model = generator.ModelId,
            OwnerId = Owner,
            Settings = new GenerationSettings { OutputCount = outputCount },
        });
        return result.Job;
    }

    /// <summary>Polls the store until the job satisfies <paramref name="condition"/>, failing after 10 s of real time.</summary>
    public async Task<GenerationJob> WaitForJobAsync(string jobId, Func<GenerationJob, bool> condition, string what)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var job = await Store.GetAsync(jobId);
            if (job is not null && condition(job))
            {
                return job;
            }

            if (Stopwatch.GetElapsedTime(started) > RealTimeout)
            {
                throw new XunitException($"Job {jobId} did not become {what} within {RealTimeout.TotalSeconds:0} s of real time. Last state: {Describe(job)}");
            }

            await Task.Delay(5);
        }
    }

    /// <summary>Polls <paramref name="condition"/>, failing after 10 s of real time.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var started = Stopwatch.GetTimestamp();
        while (!condition())
        {
            if (Stopwatch.GetElapsedTime(started) > RealTimeout)
            {
                throw new XunitException($"Timed out after {RealTimeout.TotalSeconds:0} s of real time waiting for: {what}.");
            }

            await Task.Delay(5);
        }
    }

    /// <summary>Polls the queue depth until it equals <paramref name="expected"/>.</summary>
    public async Task WaitForDepthAsync(QueueDepth expected)
    {
        var started = Stopwatch.GetTimestamp();
        QueueDepth depth;
        while ((depth = await Queue.GetDepthAsync()) != expected)
        {
            if (Stopwatch.GetElapsedTime(started) > RealTimeout)
            {
                throw new XunitException($"The queue depth did not become {expected} within {RealTimeout.TotalSeconds:0} s of real time; it is {depth}.");
            }

            await Task.Delay(5);
        }
    }

    /// <summary>Polls the queue depth until <paramref name="condition"/> holds.</summary>
    public async Task WaitUntilQueueAsync(Func<QueueDepth, bool> condition, string what)
    {
        var started = Stopwatch.GetTimestamp();
        QueueDepth depth;
        while (!condition(depth = await Queue.GetDepthAsync()))
        {
            if (Stopwatch.GetElapsedTime(started) > RealTimeout)
            {
                throw new XunitException($"Timed out after {RealTimeout.TotalSeconds:0} s of real time waiting for {what}; the queue depth is {depth}.");
            }

            await Task.Delay(5);
        }
    }

    /// <summary>
    /// Moves the clock on in <paramref name="step"/>s, letting the worker react between steps, until the job satisfies
    /// <paramref name="condition"/> or <paramref name="limit"/> of fake time has passed.
    /// </summary>
    public async Task<GenerationJob> AdvanceUntilJobAsync(string jobId, TimeSpan step, TimeSpan limit, Func<GenerationJob, bool> condition, string what)
    {
        var until = Time.GetUtcNow() + limit;
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var job = await Store.GetAsync(jobId);
            if (job is not null && condition(job))
            {
                return job;
            }

            if (Time.GetUtcNow() >= until || Stopwatch.GetElapsedTime(started) > RealTimeout * 2)
            {
                throw new XunitException($"Job {jobId} did not become {what} within {limit} of fake time. Last state: {Describe(job)}");
            }

            Time.Advance(step);
            await Task.Delay(5);
        }
    }

    public static FakeLogCollector Logs(IHost host) => host.Services.GetFakeLogCollector();

    /// <summary>Starts stopping a host (once) and returns the stop task.</summary>
    public Task BeginStop(IHost host)
    {
        if (!_stops.TryGetValue(host, out var stop))
        {
            _stops[host] = stop = host.StopAsync();
        }

        return stop;
    }

    /// <summary>Waits until the host's worker has stopped receiving and started draining.</summary>
    public static Task WaitForDrainAsync(IHost host) =>
        WaitUntilAsync(() => Logs(host).GetSnapshot().Any(r => r.Id.Id == 14), "the worker to start draining");

    /// <summary>Stops a host, moving the clock on a second at a time so a drain timeout can pass.</summary>
    public async Task StopHostAsync(IHost host)
    {
        var stop = BeginStop(host);
        var started = Stopwatch.GetTimestamp();
        while (!stop.IsCompleted)
        {
            if (Stopwatch.GetElapsedTime(started) > RealTimeout * 2)
            {
                throw new XunitException("The host did not stop.");
            }

            Time.Advance(TimeSpan.FromSeconds(1));
            await Task.WhenAny(stop, Task.Delay(5));
        }

        await stop;
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _hosts.Count - 1; i >= 0; i--)
        {
            await StopHostAsync(_hosts[i]);
        }

        foreach (var host in _hosts)
        {
            host.Dispose();
        }

        Queue.Dispose();
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }

    private static string Describe(GenerationJob? job) => job is null
        ? "missing"
        : $"{job.Status}, attempt {job.Attempt}, version {job.Version}, error {job.Error?.Code ?? "none"}, next attempt {job.NextAttemptAt?.ToString("O") ?? "none"}";
}

/// <summary>An event stream that remembers what was published, then passes it on.</summary>
internal sealed class RecordingEventStream(IJobEventStream inner) : IJobEventStream
{
    private readonly ConcurrentQueue<JobEvent> _published = new();

    public IReadOnlyList<JobEvent> For(string jobId) => _published.Where(e => e.JobId == jobId).ToList();

    public ValueTask PublishAsync(JobEvent jobEvent, CancellationToken cancellationToken = default)
    {
        _published.Enqueue(jobEvent);
        return inner.PublishAsync(jobEvent, cancellationToken);
    }

    public ValueTask<IAsyncEnumerator<JobEvent>> OpenSubscriptionAsync(string jobId, CancellationToken cancellationToken = default) =>
        inner.OpenSubscriptionAsync(jobId, cancellationToken);

    public ValueTask<IReadOnlyList<JobEvent>> GetHistoryAsync(string jobId, long afterSequence, CancellationToken cancellationToken = default) =>
        inner.GetHistoryAsync(jobId, afterSequence, cancellationToken);
}

/// <summary>A cancel signal that passes every publish on, unless told to hold them back until released.</summary>
internal sealed class HoldingCancelSignal(IJobCancelSignal inner) : IJobCancelSignal
{
    private readonly ConcurrentQueue<string> _held = new();

    /// <summary>Whether publishes are held back instead of delivered.</summary>
    public bool Holding { get; set; }

    public int HeldCount => _held.Count;

    public ValueTask PublishAsync(string jobId, CancellationToken cancellationToken = default)
    {
        if (!Holding)
        {
            return inner.PublishAsync(jobId, cancellationToken);
        }

        _held.Enqueue(jobId);
        return ValueTask.CompletedTask;
    }

    public ValueTask<IAsyncDisposable> SubscribeAsync(Action<string> onCancel, CancellationToken cancellationToken = default) =>
        inner.SubscribeAsync(onCancel, cancellationToken);

    /// <summary>Stops holding and delivers what was held.</summary>
    public async Task ReleaseAsync()
    {
        Holding = false;
        while (_held.TryDequeue(out var jobId))
        {
            await inner.PublishAsync(jobId);
        }
    }
}
