using Microsoft.Extensions.Logging.Testing;

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

    // The worker's log event ids for a lease renewal's start and end (Debug).
    private const int RenewingLeaseLog = 57;
    private const int LeaseRenewalDoneLog = 58;

    private readonly List<IHost> _hosts = [];
    private readonly ChangeSignal _changes = new();
    private readonly List<ScriptedGenerator> _generators = [];
    private readonly Dictionary<IHost, Task> _stops = [];
    private readonly Dictionary<IHost, TimeSpan> _sweepers = [];

    public WorkerHarness()
    {
        Root = Path.Combine(Path.GetTempPath(), "mediagen-worker-tests", Guid.NewGuid().ToString("N"));
        Queue = new InMemoryJobQueue(Options.Create(new InMemoryJobQueueOptions { LeaseDuration = LeaseDuration }), Time);
        Store = new InMemoryJobStore(Time);
        Ledger = new InMemoryCreditLedger(Options.Create(new CreditLedgerOptions { InitialBalance = InitialBalance }), Time);
        Events = new InMemoryJobEventStream();
        Published = new RecordingEventStream(Events, _changes.Pulse);
        Time.TimersRearmed += _changes.Pulse;
    }

    /// <summary>The cancel signal every host shares; it can hold deliveries back, as a slow transport would.</summary>
    public HoldingCancelSignal CancelSignal { get; } = new(new InMemoryJobCancelSignal());

    /// <summary>The provider pauses every host shares.</summary>
    public InMemoryProviderPauseStore Pauses { get; } = new();

    /// <summary>The hosts' clock; it reports re-armed timers as steps the hosts take.</summary>
    public ObservedTimeProvider Time { get; } = new(Start);

    public string Root { get; }

    public InMemoryJobQueue Queue { get; }

    public InMemoryJobStore Store { get; }

    public InMemoryCreditLedger Ledger { get; }

    public InMemoryJobEventStream Events { get; }

    /// <summary>Every event the hosts published, in order; the hosts publish through it to <see cref="Events"/>.</summary>
    public RecordingEventStream Published { get; }

    /// <summary>
    /// Starts a host running the worker with test defaults: no jitter, a 2 s first retry delay, three attempts, no
    /// sweeper, and a 20 s drain. A test that turns the sweeper on gets a host whose sweeper already waits on the clock,
    /// and every move of the clock then waits for each running sweeper's pass to end (see <see cref="AdvanceAsync(TimeSpan)"/>).
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
                services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddFakeLogging(o => { o.OutputSink = _ => _changes.Pulse(); o.TimeProvider = Time; }));
                services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
                var builder = services
                    .AddMediaGeneration(o =>
                    {
                        o.MaxAttempts = 3;
                        options?.Invoke(o);
                    })
                    .UseQueue(_ => new SignallingJobQueue(Queue, _changes.Pulse))
                    .UseJobStore(_ => Store)
                    .UseCreditLedger(_ => Ledger)
                    .UseEventStream(_ => Published)
                    .UseCancelSignal(_ => CancelSignal)
                    .UseProviderPauseStore(_ => Pauses)
                    .AddLifecycleStore(sp => new SignallingLifecycleStore(
                        ActivatorUtilities.CreateInstance<InMemoryJobLifecycleStore>(sp, Store, Ledger, Queue, Published),
                        _changes.Pulse))
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
                    if (generator is ScriptedGenerator scripted)
                    {
                        scripted.Called = _changes.Pulse;
                        _generators.Add(scripted);
                    }

                    builder.AddGenerator(generator);
                }
            })
            .Build();
        _hosts.Add(host);
        await host.StartAsync();
        var sweepInterval = host.Services.GetRequiredService<IOptions<MediaGenerationWorkerOptions>>().Value.SweepInterval;
        if (sweepInterval > TimeSpan.Zero)
        {
            _sweepers[host] = sweepInterval;
            await _changes.WaitUntilAsync(SweepersWaiting, "the sweeper to wait for its first pass", RealTimeout);
        }

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

    /// <summary>Waits until the job in the store satisfies <paramref name="condition"/>, reading it again after every step the hosts take.</summary>
    public async Task<GenerationJob> WaitForJobAsync(string jobId, Func<GenerationJob, bool> condition, string what) =>
        (await WaitForStateAsync(
            () => Store.GetAsync(jobId).AsTask(),
            job => job is not null && condition(job),
            job => $"job {jobId} became {what}. Last state: {Describe(job)}"))!;

    /// <summary>Waits until <paramref name="condition"/> holds, checking it again after every step the hosts take.</summary>
    public Task WaitUntilAsync(Func<bool> condition, string what) =>
        WaitForStateAsync(() => Task.FromResult(condition()), held => held, _ => what);

    /// <summary>Waits until the queue depth equals <paramref name="expected"/>.</summary>
    public Task WaitForDepthAsync(QueueDepth expected) =>
        WaitUntilQueueAsync(depth => depth == expected, $"the queue depth to become {expected}");

    /// <summary>Waits until the queue depth satisfies <paramref name="condition"/>.</summary>
    public Task WaitUntilQueueAsync(Func<QueueDepth, bool> condition, string what) =>
        WaitForStateAsync(() => Queue.GetDepthAsync().AsTask(), condition, depth => $"{what}; the queue depth is {depth}");

    /// <summary>
    /// Moves the clock on in <paramref name="step"/>s until the job satisfies <paramref name="condition"/>, failing once
    /// <paramref name="limit"/> of fake time has passed. Before each step it waits until the hosts wait on the clock:
    /// nothing in the queue is ready or leased (a retry or the sweeper is due later), or, with
    /// <paramref name="whileGenerating"/>, every leased message's generator call is waiting and not told to stop.
    /// </summary>
    public async Task<GenerationJob> AdvanceUntilJobAsync(string jobId, TimeSpan step, TimeSpan limit, Func<GenerationJob, bool> condition, string what, bool whileGenerating = false)
    {
        var until = Time.GetUtcNow() + limit;
        while (true)
        {
            var (job, depth) = await WaitForStateAsync(
                async () => (await Store.GetAsync(jobId), await Queue.GetDepthAsync()),
                s => (s.Item1 is { } j && condition(j)) || (s.Item2.Ready == 0 && (s.Item2.Leased == 0 || (whileGenerating && s.Item2.Leased <= _generators.Sum(g => g.Waiting)))),
                s => $"job {jobId} became {what} or the hosts waited on the clock. Last state: {Describe(s.Item1)}, queue {s.Item2}");
            if (job is not null && condition(job))
            {
                return job;
            }

            if (Time.GetUtcNow() >= until)
            {
                throw new XunitException($"Job {jobId} did not become {what} within {limit} of fake time. Last state: {Describe(job)}, queue {depth}. The hosts' logs:{Environment.NewLine}{DescribeLogs()}");
            }

            await AdvanceAsync(step);
        }
    }

    public static FakeLogCollector Logs(IHost host) => host.Services.GetFakeLogCollector();

    /// <summary>Starts stopping a host (once) and returns the stop task.</summary>
    public Task BeginStop(IHost host)
    {
        if (!_stops.TryGetValue(host, out var stop))
        {
            _sweepers.Remove(host);
            _stops[host] = stop = host.StopAsync();
        }

        return stop;
    }

    /// <summary>
    /// Waits until the host's worker has stopped receiving, started draining, and armed its drain timeout: the timer comes
    /// just after the log, and a move of the clock between the two would push the timeout that much later.
    /// </summary>
    public async Task WaitForDrainAsync(IHost host)
    {
        await WaitUntilAsync(() => Logs(host).GetSnapshot().Any(r => r.Id.Id == 14), "the worker to start draining");
        await Time.WaitForTimersAsync(1, host.Services.GetRequiredService<IOptions<MediaGenerationWorkerOptions>>().Value.DrainTimeout);
    }

    /// <summary>Stops a host, moving the clock on a second at a time so a drain timeout can pass.</summary>
    public async Task StopHostAsync(IHost host)
    {
        var stop = BeginStop(host);
        using var bound = new CancellationTokenSource(RealTimeout * 2);
        while (!stop.IsCompleted)
        {
            await AdvanceAsync(TimeSpan.FromSeconds(1), bound.Token, "the host to stop", stop);
        }

        await stop;
    }

    /// <summary>Moves the clock on by <paramref name="step"/> and, when that fired a timer, waits for the hosts' next step.</summary>
    public async Task AdvanceAsync(TimeSpan step)
    {
        using var bound = new CancellationTokenSource(RealTimeout);
        await AdvanceAsync(step, bound.Token, $"the hosts to react to the clock moving on by {step}");
    }

    /// <summary>
    /// Moves the clock on by <paramref name="step"/>; when that passed a timer, waits until it has fired (on this thread or
    /// another) and the hosts take their next step (a commit, an event, a log, a timer armed) or <paramref name="done"/>
    /// completes, so the clock does not run ahead of the work it woke. One move can wake several loops, and the receive
    /// loop and the heartbeat take their next step at once; so it also waits until the slower work the clock wakes is over:
    /// every running host's lease renewals done (the next one scheduled) and its sweeper waiting for its next pass.
    /// Otherwise the clock could run on past a renewal still in progress, until the lease lapsed, or past a sweep, whose
    /// next pass would then come late. Under xUnit's synchronization context a woken continuation runs on the thread pool,
    /// not inline in the move, so these waits are what keep the clock behind the work.
    /// </summary>
    private async Task AdvanceAsync(TimeSpan step, CancellationToken bound, string what, Task? done = null)
    {
        var next = _changes.Next;
        var wakes = Time.AnyDueWithin(step);
        Time.Advance(step);
        if (wakes)
        {
            await Time.WaitForDueTimersAsync(bound);
            await Waits.BoundedAsync(done is null ? next : Task.WhenAny(next, done), bound, what);
            var settled = _changes.WaitUntilAsync(ClockWorkSettled, "the lease renewals and sweeps the clock woke to end", RealTimeout);
            await Waits.BoundedAsync(done is null ? settled : Task.WhenAny(settled, done), bound, $"{what}: the renewals and sweeps it woke to end");
        }
    }

    /// <summary>Whether every running host's lease renewals are done and its sweeper (when on) waits for its next pass.</summary>
    private bool ClockWorkSettled()
    {
        foreach (var host in _hosts.Where(h => !_stops.ContainsKey(h)))
        {
            var logs = Logs(host).GetSnapshot();
            if (logs.Count(r => r.Id.Id == RenewingLeaseLog) != logs.Count(r => r.Id.Id == LeaseRenewalDoneLog))
            {
                return false;
            }
        }

        return SweepersWaiting();
    }

    /// <summary>Whether every running host's sweeper waits on the clock for its next pass.</summary>
    private bool SweepersWaiting() => _sweepers.Values.GroupBy(interval => interval).All(g => Time.CountWaiting(g.Key) >= g.Count());

    /// <summary>
    /// Checks <paramref name="condition"/> on what <paramref name="read"/> returns, now and after every step the hosts
    /// take, failing after 10 s of real time.
    /// </summary>
    private Task<T> WaitForStateAsync<T>(Func<Task<T>> read, Func<T, bool> condition, Func<T, string> what) =>
        _changes.WaitUntilAsync(read, condition, what, RealTimeout);

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

    /// <summary>Every running host's log, for a failure message: what the hosts did while the clock moved.</summary>
    public string DescribeLogs() => string.Join(
        Environment.NewLine,
        _hosts.SelectMany((host, i) => Logs(host).GetSnapshot().Select(r => $"host {i} {r.Timestamp:HH:mm:ss.fff} {r.Level} {r.Id.Id} {r.Category}: {r.Message}{(r.Exception is { } e ? $" ({e.GetType().Name}: {e.Message})" : string.Empty)}")));

    private static string Describe(GenerationJob? job) => job is null
        ? "missing"
        : $"{job.Status}, attempt {job.Attempt}, version {job.Version}, error {job.Error?.Code ?? "none"}, next attempt {job.NextAttemptAt?.ToString("O") ?? "none"}";
}

/// <summary>An event stream that remembers what was published, passes it on, then calls <paramref name="published"/>.</summary>
internal sealed class RecordingEventStream(IJobEventStream inner, Action published) : IJobEventStream
{
    private readonly ConcurrentQueue<JobEvent> _published = new();

    public IReadOnlyList<JobEvent> For(string jobId) => _published.Where(e => e.JobId == jobId).ToList();

    public async ValueTask PublishAsync(JobEvent jobEvent, CancellationToken cancellationToken = default)
    {
        _published.Enqueue(jobEvent);
        await inner.PublishAsync(jobEvent, cancellationToken);
        published();
    }

    public ValueTask<IAsyncEnumerator<JobEvent>> OpenSubscriptionAsync(string jobId, CancellationToken cancellationToken = default) =>
        inner.OpenSubscriptionAsync(jobId, cancellationToken);

    public ValueTask<IReadOnlyList<JobEvent>> GetHistoryAsync(string jobId, long afterSequence, CancellationToken cancellationToken = default) =>
        inner.GetHistoryAsync(jobId, afterSequence, cancellationToken);
}

/// <summary>
/// The in-memory lifecycle store, signalling after each step has left its critical section: a step's event goes out
/// inside it, before the step's lease is settled, so a wait woken by the event alone could read a half-applied step.
/// </summary>
internal sealed class SignallingLifecycleStore(IJobLifecycleStore inner, Action stepped) : IJobLifecycleStore
{
    public async ValueTask<JobCreateResult> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.SubmitAsync(submission, cancellationToken);
        }
        finally
        {
            stepped();
        }
    }

    public async ValueTask<bool> CommitAsync(JobCommit commit, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.CommitAsync(commit, cancellationToken);
        }
        finally
        {
            stepped();
        }
    }
}

/// <summary>
/// The shared queue as a host's worker sees it: each lease it receives signals after it was settled or renewed, so a
/// wait sees a settle made outside a lifecycle step (an orphan message dead-lettered after its log and metric).
/// </summary>
internal sealed class SignallingJobQueue(IJobQueue inner, Action settled) : IJobQueue
{
    public ValueTask EnqueueAsync(QueueMessage message, EnqueueOptions? options = null, CancellationToken cancellationToken = default) =>
        inner.EnqueueAsync(message, options, cancellationToken);

    public async ValueTask<IReadOnlyList<IQueueLease>> ReceiveAsync(int maxMessages, TimeSpan maxWait, CancellationToken cancellationToken = default) =>
        (await inner.ReceiveAsync(maxMessages, maxWait, cancellationToken)).Select(IQueueLease (l) => new SignallingLease(l, settled)).ToList();

    public ValueTask<IReadOnlyList<DeadLetterMessage>> ListDeadLettersAsync(int maxCount = 100, CancellationToken cancellationToken = default) =>
        inner.ListDeadLettersAsync(maxCount, cancellationToken);

    public ValueTask<bool> ResubmitDeadLetterAsync(string messageId, CancellationToken cancellationToken = default) =>
        inner.ResubmitDeadLetterAsync(messageId, cancellationToken);

    public ValueTask<bool> DeleteDeadLetterAsync(string messageId, CancellationToken cancellationToken = default) =>
        inner.DeleteDeadLetterAsync(messageId, cancellationToken);

    public ValueTask<QueueDepth> GetDepthAsync(CancellationToken cancellationToken = default) => inner.GetDepthAsync(cancellationToken);

    public ValueTask<long?> GetPositionAsync(string messageId, CancellationToken cancellationToken = default) =>
        inner.GetPositionAsync(messageId, cancellationToken);

    private sealed class SignallingLease(IQueueLease inner, Action settled) : IQueueLease
    {
        public QueueMessage Message => inner.Message;

        public int DeliveryCount => inner.DeliveryCount;

        public DateTimeOffset EnqueuedAt => inner.EnqueuedAt;

        public DateTimeOffset LockedUntil => inner.LockedUntil;

        public JobPriority Priority => inner.Priority;

        public ValueTask CompleteAsync(CancellationToken cancellationToken = default) => Signal(inner.CompleteAsync(cancellationToken));

        public ValueTask AbandonAsync(TimeSpan delay = default, CancellationToken cancellationToken = default) =>
            Signal(inner.AbandonAsync(delay, cancellationToken));

        public ValueTask DeferAsync(TimeSpan delay = default, CancellationToken cancellationToken = default) =>
            Signal(inner.DeferAsync(delay, cancellationToken));

        public ValueTask DeadLetterAsync(string reason, string? description = null, CancellationToken cancellationToken = default) =>
            Signal(inner.DeadLetterAsync(reason, description, cancellationToken));

        public ValueTask RenewAsync(CancellationToken cancellationToken = default) => Signal(inner.RenewAsync(cancellationToken));

        public ValueTask DisposeAsync() => Signal(inner.DisposeAsync());

        // Awaited in place, so a settle that completed at once (the in-memory queue's) still completes at once for the
        // lifecycle store, which applies a step's settle inside its critical section.
        private async ValueTask Signal(ValueTask step)
        {
            try
            {
                await step;
            }
            finally
            {
                settled();
            }
        }
    }
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
