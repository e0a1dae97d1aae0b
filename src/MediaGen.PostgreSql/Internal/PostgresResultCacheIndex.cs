namespace MediaGen.PostgreSql.Internal;

/// <summary>
/// The result cache's index on PostgreSQL: one row per cache key in <c>result_cache</c> with the job id and its expiry,
/// compared with the <see cref="TimeProvider"/>'s time on every read. Each write also deletes a bounded batch of expired
/// rows, so the table stays the size of what is live.
/// </summary>
internal sealed class PostgresResultCacheIndex : IResultCacheIndex
{
    /// <summary>The most expired rows one write deletes.</summary>
    private const int PruneBatch = 100;

    private readonly PostgresDatabase _database;
    private readonly string _schema;

    public PostgresResultCacheIndex(PostgresDatabase database)
    {
        _database = database;
        _schema = database.QuotedSchema;
    }

    public async ValueTask<string?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var command = (await _database.CommandAsync($"SELECT job_id FROM {_schema}.result_cache WHERE cache_key = $1 AND expires_at > $2", cancellationToken).ConfigureAwait(false))
            .Text(key).Time(_database.TimeProvider.GetUtcNow());
        return await PostgresDatabase.ScalarAsync(command, cancellationToken).ConfigureAwait(false) as string;
    }

    public async ValueTask SetAsync(string key, string jobId, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
        var now = _database.TimeProvider.GetUtcNow();
        var command = (await _database.CommandAsync(
            $"WITH expired AS (SELECT cache_key FROM {_schema}.result_cache WHERE expires_at <= $4 LIMIT {PruneBatch} FOR UPDATE SKIP LOCKED), " +
            $"pruned AS (DELETE FROM {_schema}.result_cache r USING expired e WHERE r.cache_key = e.cache_key AND r.cache_key <> $1) " +
            $"INSERT INTO {_schema}.result_cache (cache_key, job_id, expires_at) VALUES ($1, $2, $3) " +
            "ON CONFLICT (cache_key) DO UPDATE SET job_id = EXCLUDED.job_id, expires_at = EXCLUDED.expires_at",
            cancellationToken).ConfigureAwait(false))
            .Text(key).Text(jobId).Time(now + timeToLive).Time(now);
        await PostgresDatabase.NonQueryAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> RemoveAsync(string key, string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var command = (await _database.CommandAsync($"DELETE FROM {_schema}.result_cache WHERE cache_key = $1 AND job_id = $2", cancellationToken).ConfigureAwait(false))
            .Text(key).Text(jobId);
        return await PostgresDatabase.NonQueryAsync(command, cancellationToken).ConfigureAwait(false) > 0;
    }
}
