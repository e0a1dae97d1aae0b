using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MediaGen.Internal;

/// <summary>Healthy when the queue answers a depth query.</summary>
internal sealed class QueueHealthCheck(IJobQueue queue) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var depth = await queue.GetDepthAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy(data: new Dictionary<string, object>
            {
                ["ready"] = depth.Ready,
                ["delayed"] = depth.Delayed,
                ["leased"] = depth.Leased,
                ["deadLettered"] = depth.DeadLettered,
            });
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("The job queue did not answer.", e);
        }
    }
}

/// <summary>Healthy when the storage answers a metadata query.</summary>
internal sealed class StorageHealthCheck(IMediaStorage storage) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await storage.GetInfoAsync("health/probe", cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("The media storage did not answer.", e);
        }
    }
}
