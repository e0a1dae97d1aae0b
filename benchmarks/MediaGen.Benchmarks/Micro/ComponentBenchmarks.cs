using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;

namespace MediaGen.Benchmarks.Micro;

/// <summary>
/// The in-memory seams one at a time, resolved through <c>AddMediaGeneration()</c>: what each costs per call in time
/// and bytes, to tell where the pipeline's per-job allocations come from.
/// </summary>
[Config(typeof(ShortInProcessConfig))]
public class ComponentBenchmarks
{
    private readonly QueueMessage _message = new("0123456789abcdef0123456789abcdef");
    private ServiceProvider _services = null!;
    private IJobQueue _queue = null!;
    private IJobStore _store = null!;
    private IJobEventStream _events = null!;
    private GenerationJob _job = null!;
    private JobEvent _event = null!;

    /// <summary>Builds the container.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddMediaGeneration().AddGenerator(new NoOpGenerator());
        _services = services.BuildServiceProvider();
        _queue = _services.GetRequiredService<IJobQueue>();
        _store = _services.GetRequiredService<IJobStore>();
        _events = _services.GetRequiredService<IJobEventStream>();
        var now = DateTimeOffset.UtcNow;
        _job = new GenerationJob
        {
            Id = "0123456789abcdef0123456789abcdef",
            Request = new GenerationRequest { Prompt = "a lighthouse on a cliff at dusk", Model = NoOpGenerator.ModelId, OwnerId = "bench" },
            CreatedAt = now,
            UpdatedAt = now,
            Deadline = now.AddHours(1),
            CreditsCharged = 1,
        };
        _event = new JobEvent { JobId = _job.Id, OwnerId = "bench", Type = JobEventType.Started, Timestamp = now, Status = JobStatus.Processing, Attempt = 1 };
    }

    /// <summary>Disposes the container.</summary>
    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    /// <summary>One message through the in-memory queue: enqueue, receive one, complete.</summary>
    [Benchmark(Description = "queue: enqueue + receive + complete")]
    public async Task QueueRoundTrip()
    {
        await _queue.EnqueueAsync(_message).ConfigureAwait(false);
        var leases = await _queue.ReceiveAsync(1, TimeSpan.Zero).ConfigureAwait(false);
        await leases[0].CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>The job store's writes for one job's life: create, two conditional updates (started, succeeded), then delete so the store does not grow.</summary>
    [Benchmark(Description = "store: create + 2 updates + delete")]
    public async Task StoreLifecycle()
    {
        var created = await _store.CreateAsync(_job).ConfigureAwait(false);
        var started = await _store.UpdateAsync(created.Job with { Status = JobStatus.Processing, Attempt = 1 }, created.Job.Version).ConfigureAwait(false);
        await _store.UpdateAsync(started! with { Status = JobStatus.Succeeded }, started.Version).ConfigureAwait(false);
        await _store.DeleteAsync(_job.Id).ConfigureAwait(false);
    }

    /// <summary>One read of a job by id.</summary>
    [Benchmark(Description = "store: get")]
    public ValueTask<GenerationJob?> StoreGet() => _store.GetAsync("missing");

    /// <summary>The cost of one copy of a job record (every state change makes at least one).</summary>
    [Benchmark(Description = "GenerationJob with { } (one copy)")]
    public GenerationJob JobCopy() => _job with { Version = 2 };

    /// <summary>A job id as submission makes it.</summary>
    [Benchmark(Description = "job id: Guid.NewGuid().ToString(\"N\")")]
    public string JobId() => Guid.NewGuid().ToString("N");

    /// <summary>One event published with nobody subscribed.</summary>
    [Benchmark(Description = "events: publish, no subscriber")]
    public ValueTask PublishEvent() => _events.PublishAsync(_event);
}
