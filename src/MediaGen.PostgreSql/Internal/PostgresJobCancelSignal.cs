namespace MediaGen.PostgreSql.Internal;

/// <summary>
/// Cancel signals over <c>LISTEN</c>/<c>NOTIFY</c> on one channel per schema (<see cref="PostgresChannels.Cancel"/>): a
/// process notifies the job id, every listening process hears it. Live and best effort, like the contract: a signal sent
/// while a process's listening connection is down is lost, and that process applies the cancel at its next lease renewal.
/// </summary>
internal sealed class PostgresJobCancelSignal : IJobCancelSignal
{
    private readonly PostgresDatabase _database;

    public PostgresJobCancelSignal(PostgresDatabase database)
    {
        _database = database;
    }

    public async ValueTask PublishAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var command = (await _database.CommandAsync("SELECT pg_notify($1, $2)", cancellationToken).ConfigureAwait(false))
            .Text(_database.CancelChannel).Text(jobId);
        await PostgresDatabase.ScalarAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IAsyncDisposable> SubscribeAsync(Action<string> onCancel, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(onCancel);
        await _database.EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        return await _database.Listener.ListenAsync(
            _database.CancelChannel,
            jobId =>
            {
                if (jobId.Length > 0)
                {
                    onCancel(jobId);
                }
            },
            cancellationToken).ConfigureAwait(false);
    }
}
