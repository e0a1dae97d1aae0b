using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MediaGen.Internal;

/// <summary>
/// Hears the cancel signals of every process sharing the backend (<see cref="IJobCancelSignal"/>) and stops the attempts
/// they are for that run here (<see cref="JobCancellationRegistry"/>), so an owner's cancel lands within moments
/// wherever it was asked. It starts before the worker receives its first job and stops after the worker has drained.
/// When the backend cannot be reached at start it keeps trying in the background; until then, and for any signal lost
/// on the way, the worker's lease renewal reads the cancel from the job.
/// </summary>
internal sealed class JobCancelListener(
    IJobCancelSignal signal,
    JobCancellationRegistry running,
    TimeProvider timeProvider,
    ILogger<JobCancelListener> logger) : IHostedService, IDisposable
{
    private static readonly Backoff Resubscribe = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private IAsyncDisposable? _subscription;
    private Task _retrying = Task.CompletedTask;
    private int _disposed;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!await TrySubscribeAsync(Resubscribe.DelayFor(1), cancellationToken).ConfigureAwait(false))
        {
            _retrying = RetryAsync(_stopping.Token);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // The container was disposed first (a host's own shutdown can race its StopAsync): Dispose stopped the retries.
        }

        await _retrying.ConfigureAwait(false);
        IAsyncDisposable? subscription;
        lock (_gate)
        {
            subscription = _subscription;
            _subscription = null;
        }

        if (subscription is not null)
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stopping.Cancel();
            _stopping.Dispose();
        }
    }

    private async Task RetryAsync(CancellationToken stopping)
    {
        for (var failures = 1; ; failures++)
        {
            try
            {
                await Task.Delay(Resubscribe.DelayFor(failures), timeProvider, stopping).ConfigureAwait(false);
                if (await TrySubscribeAsync(Resubscribe.DelayFor(failures + 1), stopping).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task<bool> TrySubscribeAsync(TimeSpan nextDelay, CancellationToken cancellationToken)
    {
        IAsyncDisposable subscription;
        try
        {
            subscription = await signal.SubscribeAsync(OnCancel, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.CancelListenFailed(logger, nextDelay, e);
            return false;
        }

        lock (_gate)
        {
            if (!_stopping.IsCancellationRequested)
            {
                _subscription = subscription;
                return true;
            }
        }

        // Stopped while subscribing: nothing will dispose it later.
        await subscription.DisposeAsync().ConfigureAwait(false);
        return true;
    }

    private void OnCancel(string runId)
    {
        if (running.TryCancel(runId))
        {
            Log.CancelSignalApplied(logger, runId);
        }
    }
}
