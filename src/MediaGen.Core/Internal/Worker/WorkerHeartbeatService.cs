using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen.Internal;

/// <summary>
/// Announces this process's worker in the <see cref="IWorkerRegistry"/> when it starts, heartbeats every
/// <see cref="MediaGenerationWorkerOptions.HeartbeatInterval"/> with the jobs it runs, and removes it when it stops. A
/// failed heartbeat is logged and tried again at the next interval; it never stops the worker.
/// </summary>
internal sealed class WorkerHeartbeatService(
    IWorkerRegistry registry,
    WorkerIdentity identity,
    JobCancellationRegistry running,
    IOptions<MediaGenerationWorkerOptions> options,
    TimeProvider timeProvider,
    ILogger<WorkerHeartbeatService> logger) : BackgroundService
{
    private const int MissedBeforeDead = 3;
    private readonly MediaGenerationWorkerOptions _options = options.Value;
    private DateTimeOffset _startedAt;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _startedAt = timeProvider.GetUtcNow();
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await registry.RemoveAsync(identity.Id, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MediaGenException or OperationCanceledException)
        {
            // Forgotten once its last heartbeat expires.
            Log.HeartbeatFailed(logger, identity.Id, e);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await BeatAsync(stoppingToken).ConfigureAwait(false);
            try
            {
                await Task.Delay(_options.HeartbeatInterval, timeProvider, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task BeatAsync(CancellationToken stoppingToken)
    {
        var now = timeProvider.GetUtcNow();
        var heartbeat = new WorkerHeartbeat
        {
            WorkerId = identity.Id,
            Host = Environment.MachineName,
            ProcessId = Environment.ProcessId,
            StartedAt = _startedAt,
            LastHeartbeatAt = now,
            ExpiresAt = now + (_options.HeartbeatInterval * MissedBeforeDead),
            Concurrency = _options.Concurrency,
            Running = running.Running,
        };
        try
        {
            await registry.HeartbeatAsync(heartbeat, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (MediaGenException e)
        {
            Log.HeartbeatFailed(logger, identity.Id, e);
        }
    }
}
