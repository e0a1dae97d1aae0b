using MediaGen.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MediaGen.Benchmarks;

/// <summary>
/// The in-memory pipeline in a generic host, set up through the public registration API: submission client, worker,
/// in-memory queue, store and ledger, and an event stream that counts terminal events on the way through.
/// </summary>
internal sealed class MediaGenPipeline : IAsyncDisposable
{
    private readonly IHost _host;
    private bool _started;

    private MediaGenPipeline(IHost host, CompletionCounter completions)
    {
        _host = host;
        Completions = completions;
        Client = host.Services.GetRequiredService<IMediaGenerationClient>();
    }

    public IMediaGenerationClient Client { get; }

    public CompletionCounter Completions { get; }

    public IServiceProvider Services => _host.Services;

    /// <summary>Builds the host; the worker starts with <see cref="StartAsync"/>, so jobs can be submitted before it runs.</summary>
    /// <param name="concurrency">The worker's concurrency.</param>
    /// <param name="generator">The generator.</param>
    /// <param name="retention">
    /// How long finished jobs, their reservations and their event histories are kept; null keeps the defaults (a day), so
    /// everything a run finishes is still held at its end.
    /// </param>
    public static MediaGenPipeline Create(int concurrency, IMediaGenerator generator, TimeSpan? retention = null)
    {
        var completions = new CompletionCounter(retention);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, Args = [] });
        builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(60));
        builder.Services.AddMediaGeneration()
            .ConfigureCredits(o => o.InitialBalance = long.MaxValue / 2)
            .UseEventStream(_ => completions)
            .AddGenerator(generator)
            .UseStorage(_ => new DiscardStorage())
            .AddWorker(o =>
            {
                o.Concurrency = concurrency;
                o.SweepInterval = TimeSpan.Zero;
                o.DrainTimeout = TimeSpan.FromSeconds(30);
            });
        if (retention is { } kept)
        {
            builder.Services.Configure<InMemoryBackendOptions>(o => o.FinishedJobRetention = kept);
        }

        return new MediaGenPipeline(builder.Build(), completions);
    }

    public static async Task<MediaGenPipeline> StartAsync(int concurrency, IMediaGenerator generator, TimeSpan? retention = null)
    {
        var pipeline = Create(concurrency, generator, retention);
        await pipeline.StartAsync().ConfigureAwait(false);
        return pipeline;
    }

    public async Task StartAsync()
    {
        await _host.StartAsync().ConfigureAwait(false);
        _started = true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_started)
        {
            await _host.StopAsync().ConfigureAwait(false);
        }

        _host.Dispose();
    }
}

/// <summary>
/// An <see cref="IJobEventStream"/> that counts terminal events and hands every event on to the in-memory stream, so
/// completions are counted without a subscription or a store poll per job (one interlocked add per finished job). It
/// forwards the lifecycle's status events too (<see cref="IJobStatusEventSink"/>), so the in-memory store publishes
/// through it as it does through the in-memory stream itself.
/// </summary>
internal sealed class CompletionCounter(TimeSpan? retention = null) : IJobEventStream, IJobStatusEventSink
{
    private readonly InMemoryJobEventStream _inner = new(retention: retention);
    private TaskCompletionSource _reached = NewSource();
    private long _target = long.MaxValue;
    private long _finished;
    private long _unsuccessful;

    public long Finished => Volatile.Read(ref _finished);

    public long Unsuccessful => Volatile.Read(ref _unsuccessful);

    /// <summary>Completes once <paramref name="total"/> jobs (counted since start) have reached a terminal status.</summary>
    public Task WhenFinished(long total)
    {
        var reached = NewSource();
        Volatile.Write(ref _reached, reached);
        Volatile.Write(ref _target, total);
        if (Finished >= total)
        {
            reached.TrySetResult();
        }

        return reached.Task;
    }

    public ValueTask PublishAsync(JobEvent jobEvent, CancellationToken cancellationToken = default)
    {
        Count(jobEvent.Type);
        return _inner.PublishAsync(jobEvent, cancellationToken);
    }

    public void PublishStatus(GenerationJob job, JobEventType type, DateTimeOffset timestamp)
    {
        Count(type);
        _inner.PublishStatus(job, type, timestamp);
    }

    private void Count(JobEventType type)
    {
        if (type is JobEventType.Succeeded or JobEventType.Failed or JobEventType.Canceled)
        {
            if (type != JobEventType.Succeeded)
            {
                Interlocked.Increment(ref _unsuccessful);
            }

            if (Interlocked.Increment(ref _finished) >= Volatile.Read(ref _target))
            {
                Volatile.Read(ref _reached).TrySetResult();
            }
        }
    }

    public ValueTask<IAsyncEnumerator<JobEvent>> OpenSubscriptionAsync(string jobId, CancellationToken cancellationToken = default) =>
        _inner.OpenSubscriptionAsync(jobId, cancellationToken);

    public ValueTask<IReadOnlyList<JobEvent>> GetHistoryAsync(string jobId, long afterSequence, CancellationToken cancellationToken = default) =>
        _inner.GetHistoryAsync(jobId, afterSequence, cancellationToken);

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
