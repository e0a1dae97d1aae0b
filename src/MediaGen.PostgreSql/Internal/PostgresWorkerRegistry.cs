using Npgsql;

namespace MediaGen.PostgreSql.Internal;

/// <summary>
/// Workers' heartbeats on PostgreSQL: one row per worker in <c>workers</c> (migration <c>0003_worker_registry</c>), upserted
/// by each heartbeat and shared by every process on the schema. A listing deletes the expired rows in the same statement,
/// so a worker that died leaves nothing behind once someone looks. Instants keep PostgreSQL's microsecond precision.
/// </summary>
internal sealed class PostgresWorkerRegistry : IWorkerRegistry
{
    private readonly PostgresDatabase _database;
    private readonly string _schema;

    public PostgresWorkerRegistry(PostgresDatabase database)
    {
        _database = database;
        _schema = database.QuotedSchema;
    }

    public async ValueTask HeartbeatAsync(WorkerHeartbeat heartbeat, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(heartbeat);
        var command = (await _database.CommandAsync(
            $"INSERT INTO {_schema}.workers (worker_id, host, process_id, started_at, last_heartbeat_at, expires_at, concurrency, running) " +
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (worker_id) DO UPDATE SET host = EXCLUDED.host, " +
            "process_id = EXCLUDED.process_id, started_at = EXCLUDED.started_at, last_heartbeat_at = EXCLUDED.last_heartbeat_at, " +
            "expires_at = EXCLUDED.expires_at, concurrency = EXCLUDED.concurrency, running = EXCLUDED.running",
            cancellationToken).ConfigureAwait(false))
            .Text(heartbeat.WorkerId).Text(heartbeat.Host).Integer(heartbeat.ProcessId)
            .Time(heartbeat.StartedAt).Time(heartbeat.LastHeartbeatAt).Time(heartbeat.ExpiresAt)
            .Integer(heartbeat.Concurrency).Integer(heartbeat.Running);
        await PostgresDatabase.NonQueryAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask RemoveAsync(string workerId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(workerId);
        var command = (await _database.CommandAsync($"DELETE FROM {_schema}.workers WHERE worker_id = $1", cancellationToken).ConfigureAwait(false))
            .Text(workerId);
        await PostgresDatabase.NonQueryAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<WorkerHeartbeat>> ListAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        // A data-modifying CTE runs to completion whether or not the outer query reads it; the SELECT sees the table as
        // it was before, so it filters the expired rows itself.
        var command = (await _database.CommandAsync(
            $"WITH expired AS (DELETE FROM {_schema}.workers WHERE expires_at <= $1) " +
            "SELECT worker_id, host, process_id, started_at, last_heartbeat_at, expires_at, concurrency, running " +
            $"FROM {_schema}.workers WHERE expires_at > $1 ORDER BY worker_id COLLATE \"C\"",
            cancellationToken).ConfigureAwait(false))
            .Time(now);
        return await PostgresDatabase.ReadAsync(command, ReadAsync, cancellationToken).ConfigureAwait(false);
    }

    private static async ValueTask<IReadOnlyList<WorkerHeartbeat>> ReadAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var workers = new List<WorkerHeartbeat>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            workers.Add(new WorkerHeartbeat
            {
                WorkerId = reader.GetString(0),
                Host = reader.GetString(1),
                ProcessId = reader.GetInt32(2),
                StartedAt = reader.GetFieldValue<DateTimeOffset>(3),
                LastHeartbeatAt = reader.GetFieldValue<DateTimeOffset>(4),
                ExpiresAt = reader.GetFieldValue<DateTimeOffset>(5),
                Concurrency = reader.GetInt32(6),
                Running = reader.GetInt32(7),
            });
        }

        return workers;
    }
}
