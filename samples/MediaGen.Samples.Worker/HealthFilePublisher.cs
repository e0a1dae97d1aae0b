using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MediaGen.Samples.Worker;

/// <summary>
/// The worker host has no HTTP server, so its health checks (<c>mediagen-queue</c>, <c>mediagen-storage</c>) are published
/// to a file: written (its time refreshed) after each healthy report, deleted after an unhealthy one. A container's
/// health check tests that the file is recent (the Dockerfile's <c>HEALTHCHECK</c>).
/// </summary>
internal sealed class HealthFilePublisher(string path) : IHealthCheckPublisher
{
    /// <summary>The file, in the temporary folder (<c>/tmp/mediagen-worker.healthy</c> in the container).</summary>
    public static readonly string DefaultPath = Path.Combine(Path.GetTempPath(), "mediagen-worker.healthy");

    public async Task PublishAsync(HealthReport report, CancellationToken cancellationToken)
    {
        if (report.Status == HealthStatus.Healthy)
        {
            await File.WriteAllTextAsync(path, report.Status.ToString(), cancellationToken);
        }
        else
        {
            File.Delete(path);
        }
    }
}
