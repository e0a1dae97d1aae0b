using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen.Internal;

/// <summary>
/// The worker: one receive loop hands leases over a channel to <c>Concurrency</c> processing loops. It receives only
/// as many messages as there are idle loops, so no lease waits in a buffer while its clock runs. On shutdown it stops
/// receiving, lets running jobs finish within the drain timeout, then cancels the rest, which go back to the queue.
/// </summary>
internal sealed class MediaGenerationWorker(
    IJobQueue queue,
    JobProcessor processor,
    JobCancellationRegistry running,
    MediaGenMetrics metrics,
    IOptions<MediaGenerationWorkerOptions> options,
    TimeProvider timeProvider,
    ILogger<MediaGenerationWorker> logger) : BackgroundService
{
    private static readonly TimeSpan DepthRefreshInterval = TimeSpan.FromSeconds(10);

    // After the queue fails: 250 ms, doubling, at most 30 s, until a receive works again.
    private static readonly Backoff ReceiveBackoff = new(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(30));
    private readonly MediaGenerationWorkerOptions _options = options.Value;
    private readonly CancellationTokenSource _hardStop = new();
    private int _running;

    /// <summary>The number of jobs being processed right now.</summary>
    public int Running => Volatile.Read(ref _running);

    public override void Dispose()
    {
        _hardStop.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var concurrency = _options.Concurrency;
        using var idle = new SemaphoreSlim(concurrency);

        // Shutdown wakes the receive loop through the semaphore, so its wait for an idle loop takes no token: with one it
        // allocated a promise, a registration and a state machine each time it waited, about once per job under load.
        using var wake = stoppingToken.Register(static s => ((SemaphoreSlim)s!).Release(), idle);
        var leases = Channel.CreateBounded<IQueueLease>(new BoundedChannelOptions(concurrency)
        {
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        var loops = new Task[concurrency];
        for (var i = 0; i < loops.Length; i++)
        {
            loops[i] = ProcessLoopAsync(leases.Reader, idle, stoppingToken);
        }

        Log.WorkerStarted(logger, concurrency);
        try
        {
            await ReceiveLoopAsync(leases.Writer, idle, stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            leases.Writer.TryComplete();
            await DrainAsync(loops).ConfigureAwait(false);
        }
    }

    private async Task ReceiveLoopAsync(ChannelWriter<IQueueLease> writer, SemaphoreSlim idle, CancellationToken stoppingToken)
    {
        var failures = 0;
        var lastDepth = timeProvider.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            await idle.WaitAsync().ConfigureAwait(false);
            if (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            var slots = 1;
            while (slots < 256 && idle.Wait(0))
            {
                slots++;
            }

            IReadOnlyList<IQueueLease> received;
            try
            {
                received = await queue.ReceiveAsync(slots, _options.ReceiveWait, stoppingToken).ConfigureAwait(false);
                failures = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                idle.Release(slots);
                return;
            }
            catch (Exception e)
            {
                idle.Release(slots);
                var delay = ReceiveBackoff.DelayFor(++failures);
                Log.ReceiveFailed(logger, delay, e);
                try
                {
                    await Task.Delay(delay, timeProvider, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            if (received.Count < slots)
            {
                idle.Release(slots - received.Count);
            }

            for (var i = 0; i < received.Count; i++)
            {
                // Never blocks: a slot was taken for each lease, and the channel holds as many as there are slots. Only the
                // slot shutdown adds to wake this loop can make one too many: that lease goes straight back to the queue.
                if (!writer.TryWrite(received[i]))
                {
                    await received[i].DisposeAsync().ConfigureAwait(false);
                }
            }

            if (timeProvider.GetElapsedTime(lastDepth) >= DepthRefreshInterval)
            {
                lastDepth = timeProvider.GetTimestamp();
                await RefreshDepthAsync(stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private async Task ProcessLoopAsync(ChannelReader<IQueueLease> reader, SemaphoreSlim idle, CancellationToken stoppingToken)
    {
        await Task.Yield();
        while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            while (reader.TryRead(out var lease))
            {
                Interlocked.Increment(ref _running);
                try
                {
                    if (stoppingToken.IsCancellationRequested)
                    {
                        // Received just before shutdown and never started: straight back to the queue.
                        await lease.DisposeAsync().ConfigureAwait(false);
                    }
                    else
                    {
                        await processor.ProcessAsync(lease, _hardStop.Token).ConfigureAwait(false);
                    }
                }
                finally
                {
                    Interlocked.Decrement(ref _running);
                    idle.Release();
                }
            }
        }
    }

    private async Task DrainAsync(Task[] loops)
    {
        var all = Task.WhenAll(loops);
        if (!all.IsCompleted)
        {
            Log.WorkerDraining(logger, _options.DrainTimeout, Running);
            try
            {
                await all.WaitAsync(_options.DrainTimeout, timeProvider).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Log.DrainTimedOut(logger, Running);
                await _hardStop.CancelAsync().ConfigureAwait(false);
                running.StopAll();
            }
        }

        await all.ConfigureAwait(false);
    }

    private async Task RefreshDepthAsync(CancellationToken cancellationToken)
    {
        try
        {
            metrics.SetQueueDepth(await queue.GetDepthAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Depth is a metric; the next refresh tries again.
        }
    }
}
