using Microsoft.Extensions.Hosting;

namespace MediaGen.PostgreSql.Internal;

/// <summary>
/// Applies (or checks) the schema's migrations when the host starts, so a migration that cannot apply stops the host with
/// a message naming it instead of failing the first request. Every database call also waits for this, whatever the order
/// hosted services start in.
/// </summary>
internal sealed class PostgresStartup(PostgresDatabase database) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => database.EnsureReadyAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
