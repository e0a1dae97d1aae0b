using System.Globalization;

namespace MediaGen.PostgreSql.Internal;

/// <summary>
/// The job store on PostgreSQL: one row per job holding its JSON document beside the searched columns. The owner and
/// idempotency key are unique together; updates are conditional on the version; listing is newest first by a sequence
/// (keyset pagination, the cursor is the last sequence seen); the sweeper's stale listing uses the status and update time.
/// </summary>
internal sealed class PostgresJobStore : IJobStore
{
    private readonly PostgresDatabase _database;
    private readonly string _schema;

    public PostgresJobStore(PostgresDatabase database)
    {
        _database = database;
        _schema = database.QuotedSchema;
    }

    internal PostgresDatabase Database => _database;

    public async ValueTask<JobCreateResult> CreateAsync(GenerationJob job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var stored = ForCreate(job, _database.TimeProvider);
        var command = (await _database.CommandAsync($"SELECT outcome, data::text FROM {_schema}.job_create($1, $2, $3, $4, $5, $6)", cancellationToken).ConfigureAwait(false))
            .Text(job.Id).Text(job.OwnerId).Text(job.Request.IdempotencyKey).Smallint((short)stored.Status).Time(stored.UpdatedAt)
            .Json(PostgresJsonContext.Serialize(stored));
        var (outcome, existing) = await PostgresDatabase.ReadAsync(
            command,
            async (reader, ct) =>
            {
                await reader.ReadAsync(ct).ConfigureAwait(false);
                return (reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetString(1));
            },
            cancellationToken).ConfigureAwait(false);
        return outcome switch
        {
            1 => new JobCreateResult(stored, Created: true),
            0 => new JobCreateResult(PostgresJsonContext.DeserializeJob(existing!), Created: false),
            _ => throw new InvalidOperationException($"A job with id '{job.Id}' already exists."),
        };
    }

    /// <summary>A new job as stored: version 1, and the current time when it carries no update time.</summary>
    internal static GenerationJob ForCreate(GenerationJob job, TimeProvider timeProvider) =>
        job with { Version = 1, UpdatedAt = job.UpdatedAt == default ? timeProvider.GetUtcNow() : job.UpdatedAt };

    public async ValueTask<GenerationJob?> GetAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        var command = (await _database.CommandAsync($"SELECT data::text FROM {_schema}.jobs WHERE id = $1", cancellationToken).ConfigureAwait(false)).Text(jobId);
        var json = (string?)await PostgresDatabase.ScalarAsync(command, cancellationToken).ConfigureAwait(false);
        return json is null ? null : PostgresJsonContext.DeserializeJob(json);
    }

    public async ValueTask<GenerationJob?> UpdateAsync(GenerationJob job, long expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var stored = job with { Version = expectedVersion + 1 };
        var command = (await _database.CommandAsync(
            $"UPDATE {_schema}.jobs SET status = $1, version = $2 + 1, updated_at = $3, data = $4 WHERE id = $5 AND version = $2",
            cancellationToken).ConfigureAwait(false))
            .Smallint((short)stored.Status).Bigint(expectedVersion).Time(stored.UpdatedAt).Json(PostgresJsonContext.Serialize(stored)).Text(job.Id);
        return await PostgresDatabase.NonQueryAsync(command, cancellationToken).ConfigureAwait(false) == 1 ? stored : null;
    }

    public async ValueTask<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit is < 1 or > JobQuery.MaxLimit)
        {
            throw new RequestValidationException("limit", $"The limit must be between 1 and {JobQuery.MaxLimit}.");
        }

        long? cursor = query.Cursor is null ? null : ParseCursor(query.Cursor);
        // One statement per shape, so each is planned for its own index (owner and sequence, or owner, status and sequence).
        var sql = $"SELECT seq, data::text FROM {_schema}.jobs WHERE owner_id = $1" +
            (query.Status is null ? string.Empty : " AND status = $3") +
            (cursor is null ? string.Empty : " AND seq < $4") +
            " ORDER BY seq DESC LIMIT $2";
        var command = (await _database.CommandAsync(sql, cancellationToken).ConfigureAwait(false)).Text(query.OwnerId).Integer(query.Limit + 1);
        if (query.Status is { } status)
        {
            command.Smallint((short)status);
        }
        else if (cursor is not null)
        {
            command.Smallint(null);
        }

        if (cursor is not null)
        {
            command.Bigint(cursor);
        }

        var rows = await PostgresDatabase.ReadAsync(
            command,
            async (reader, ct) =>
            {
                var list = new List<(long Seq, string Json)>(query.Limit + 1);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    list.Add((reader.GetInt64(0), reader.GetString(1)));
                }

                return list;
            },
            cancellationToken).ConfigureAwait(false);
        var items = new List<GenerationJob>(Math.Min(rows.Count, query.Limit));
        for (var i = 0; i < rows.Count && i < query.Limit; i++)
        {
            items.Add(PostgresJsonContext.DeserializeJob(rows[i].Json));
        }

        var next = rows.Count > query.Limit ? rows[query.Limit - 1].Seq.ToString("x", CultureInfo.InvariantCulture) : null;
        return new JobPage(items, next);
    }

    public async ValueTask<IReadOnlyList<GenerationJob>> ListStaleAsync(JobStatus status, DateTimeOffset updatedBefore, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 0);
        if (maxCount == 0)
        {
            return [];
        }

        var command = (await _database.CommandAsync(
            $"SELECT data::text FROM {_schema}.jobs WHERE status = $1 AND updated_at < $2 ORDER BY updated_at LIMIT $3",
            cancellationToken).ConfigureAwait(false))
            .Smallint((short)status).Time(updatedBefore).Integer(maxCount);
        return await ReadJobsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<GenerationJob>> ListRecentAsync(JobStatus status, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 0);
        if (maxCount == 0)
        {
            return [];
        }

        var command = (await _database.CommandAsync(
            $"SELECT data::text FROM {_schema}.jobs WHERE status = $1 ORDER BY updated_at DESC LIMIT $2",
            cancellationToken).ConfigureAwait(false))
            .Smallint((short)status).Integer(maxCount);
        return await ReadJobsAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask<bool> DeleteAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        return DeleteAsync(jobId, expectedVersion: null, cancellationToken);
    }

    public ValueTask<bool> DeleteFinishedAsync(string jobId, long expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        return DeleteAsync(jobId, expectedVersion, cancellationToken);
    }

    /// <summary>
    /// Deletes the job, or with <paramref name="expectedVersion"/> only while it is finished at that version: one statement,
    /// so a concurrent write of a new version (a retry) either commits first, and the row no longer matches, or waits for
    /// the delete and finds no row.
    /// </summary>
    private async ValueTask<bool> DeleteAsync(string jobId, long? expectedVersion, CancellationToken cancellationToken)
    {
        // The job's queue messages go with it (every run's, dead letters included), and its runs' settled reservations
        // (keyed by run id: the job id, then {jobId}.{run} after a retry), and its event history.
        var condition = expectedVersion is null ? string.Empty : " AND version = $2 AND status IN ($3, $4, $5)";
        var command = (await _database.CommandAsync(
            $"WITH job AS (DELETE FROM {_schema}.jobs WHERE id = $1{condition} RETURNING owner_id), " +
            $"message AS (DELETE FROM {_schema}.queue_messages WHERE (id = $1 OR job_id = $1) AND EXISTS (SELECT 1 FROM job)), " +
            $"reservation AS (DELETE FROM {_schema}.credit_reservations r USING job WHERE r.owner_id = job.owner_id " +
            "AND (r.job_id = $1 OR left(r.job_id, length($1) + 1) = $1 || '.') AND r.refunded IS NOT NULL), " +
            $"events AS (DELETE FROM {_schema}.job_events WHERE job_id = $1 AND EXISTS (SELECT 1 FROM job)), " +
            $"counter AS (DELETE FROM {_schema}.job_event_counters WHERE job_id = $1 AND EXISTS (SELECT 1 FROM job)) " +
            "SELECT count(*) FROM job",
            cancellationToken).ConfigureAwait(false)).Text(jobId);
        if (expectedVersion is { } version)
        {
            command.Bigint(version).Smallint((short)JobStatus.Succeeded).Smallint((short)JobStatus.Failed).Smallint((short)JobStatus.Canceled);
        }

        return (long)(await PostgresDatabase.ScalarAsync(command, cancellationToken).ConfigureAwait(false))! == 1;
    }

    private static async ValueTask<IReadOnlyList<GenerationJob>> ReadJobsAsync(Npgsql.NpgsqlCommand command, CancellationToken cancellationToken) =>
        await PostgresDatabase.ReadAsync<IReadOnlyList<GenerationJob>>(
            command,
            async (reader, ct) =>
            {
                var jobs = new List<GenerationJob>();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    jobs.Add(PostgresJsonContext.DeserializeJob(reader.GetString(0)));
                }

                return jobs;
            },
            cancellationToken).ConfigureAwait(false);

    private static long ParseCursor(string cursor) =>
        long.TryParse(cursor, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new RequestValidationException("cursor", "The cursor is not one this server issued.");
}
