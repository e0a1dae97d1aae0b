using System.Globalization;
using Npgsql;

namespace MediaGen.PostgreSql.Internal;

/// <summary>
/// The webhook outbox on PostgreSQL: one row per delivery in <c>webhook_outbox</c> (migration 0004). Leasing takes due
/// rows with <c>FOR UPDATE SKIP LOCKED</c> and moves their due time to the lease's expiry in one statement, so two
/// processes never hold the same delivery and an expired lease is due again without anyone releasing it. A lease is named
/// by a token from a sequence and settles only while it holds. Given-up rows are removed by later leases once their
/// retention passes (and never read after it); completed rows are deleted at once.
/// </summary>
internal sealed class PostgresWebhookOutbox : IWebhookOutbox
{
    private const short Leased = 1;
    private const short GivenUp = 2;

    private readonly PostgresDatabase _database;
    private readonly string _schema;

    public PostgresWebhookOutbox(PostgresDatabase database)
    {
        _database = database;
        _schema = database.QuotedSchema;
    }

    /// <summary>The database, so the lifecycle store can tell its own outbox.</summary>
    public PostgresDatabase Database => _database;

    public async ValueTask<bool> AddAsync(WebhookDelivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentException.ThrowIfNullOrEmpty(delivery.Id, nameof(delivery));
        ArgumentException.ThrowIfNullOrEmpty(delivery.JobId, nameof(delivery));
        ArgumentNullException.ThrowIfNull(delivery.Payload, nameof(delivery));
        var now = Now();

        // A given-up row whose retention passed counts as gone: the new delivery takes its place.
        var command = (await _database.CommandAsync(
            $"INSERT INTO {_schema}.webhook_outbox AS w (id, job_id, payload, state, due_at, attempts, created_at) VALUES ($1, $2, $3, 0, $4, 0, $5) " +
            "ON CONFLICT (id) DO UPDATE SET job_id = EXCLUDED.job_id, payload = EXCLUDED.payload, state = 0, due_at = EXCLUDED.due_at, attempts = 0, " +
            "lease_token = NULL, last_error = NULL, created_at = EXCLUDED.created_at WHERE w.state = 2 AND w.due_at <= $5",
            cancellationToken).ConfigureAwait(false))
            .Text(delivery.Id).Text(delivery.JobId).Text(delivery.Payload).Time(delivery.DueAt ?? now).Time(now);
        return await PostgresDatabase.NonQueryAsync(command, cancellationToken).ConfigureAwait(false) == 1;
    }

    public async ValueTask<IReadOnlyList<WebhookDeliveryLease>> LeaseAsync(int maxCount, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(leaseDuration, TimeSpan.Zero);
        var now = Now();
        var until = now + leaseDuration;
        var command = (await _database.CommandAsync(
            $"WITH purged AS (DELETE FROM {_schema}.webhook_outbox WHERE id IN (SELECT id FROM {_schema}.webhook_outbox WHERE state = 2 AND due_at <= $1 ORDER BY due_at LIMIT 100 FOR UPDATE SKIP LOCKED)), " +
            $"due AS (SELECT id, due_at FROM {_schema}.webhook_outbox WHERE state IN (0, 1) AND due_at <= $1 ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) " +
            $"UPDATE {_schema}.webhook_outbox AS w SET state = 1, attempts = w.attempts + 1, lease_token = nextval('{_schema}.webhook_lease_tokens'), due_at = $3 " +
            "FROM due WHERE w.id = due.id RETURNING w.id, w.job_id, w.payload, w.last_error, w.attempts, w.lease_token, due.due_at",
            cancellationToken).ConfigureAwait(false))
            .Time(now).Integer(maxCount).Time(until);
        var rows = await PostgresDatabase.ReadAsync(
            command,
            async (reader, ct) =>
            {
                var found = new List<(DateTimeOffset Due, WebhookDeliveryLease Lease)>();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    found.Add((reader.GetFieldValue<DateTimeOffset>(6), new WebhookDeliveryLease
                    {
                        Delivery = new WebhookDelivery { Id = reader.GetString(0), JobId = reader.GetString(1), Payload = reader.GetString(2) },
                        LastError = reader.IsDBNull(3) ? null : reader.GetString(3),
                        Attempt = reader.GetInt32(4),
                        Token = reader.GetInt64(5).ToString(CultureInfo.InvariantCulture),
                        LockedUntil = until,
                    }));
                }

                return found;
            },
            cancellationToken).ConfigureAwait(false);

        // RETURNING keeps no order: earliest due first, as leased.
        rows.Sort((a, b) => a.Due != b.Due ? a.Due.CompareTo(b.Due) : string.CompareOrdinal(a.Lease.Delivery.Id, b.Lease.Delivery.Id));
        return [.. rows.Select(r => r.Lease)];
    }

    public async ValueTask<bool> CompleteAsync(WebhookDeliveryLease lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (!TryToken(lease, out var token))
        {
            return false;
        }

        var command = (await _database.CommandAsync(
            $"DELETE FROM {_schema}.webhook_outbox WHERE id = $1 AND state = 1 AND lease_token = $2 AND due_at > $3",
            cancellationToken).ConfigureAwait(false))
            .Text(lease.Delivery.Id).Bigint(token).Time(Now());
        return await PostgresDatabase.NonQueryAsync(command, cancellationToken).ConfigureAwait(false) == 1;
    }

    public async ValueTask<bool> RetryAsync(WebhookDeliveryLease lease, DateTimeOffset dueAt, string error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(error);
        if (!TryToken(lease, out var token))
        {
            return false;
        }

        var command = (await _database.CommandAsync(
            $"UPDATE {_schema}.webhook_outbox SET state = 0, lease_token = NULL, due_at = $4, last_error = $5 WHERE id = $1 AND state = 1 AND lease_token = $2 AND due_at > $3",
            cancellationToken).ConfigureAwait(false))
            .Text(lease.Delivery.Id).Bigint(token).Time(Now()).Time(dueAt).Text(error);
        return await PostgresDatabase.NonQueryAsync(command, cancellationToken).ConfigureAwait(false) == 1;
    }

    public async ValueTask<bool> GiveUpAsync(WebhookDeliveryLease lease, string error, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentOutOfRangeException.ThrowIfLessThan(retention, TimeSpan.Zero);
        if (!TryToken(lease, out var token))
        {
            return false;
        }

        var now = Now();
        var command = retention == TimeSpan.Zero
            ? (await _database.CommandAsync(
                $"DELETE FROM {_schema}.webhook_outbox WHERE id = $1 AND state = 1 AND lease_token = $2 AND due_at > $3",
                cancellationToken).ConfigureAwait(false))
                .Text(lease.Delivery.Id).Bigint(token).Time(now)
            : (await _database.CommandAsync(
                $"UPDATE {_schema}.webhook_outbox SET state = 2, lease_token = NULL, due_at = $4, last_error = $5 WHERE id = $1 AND state = 1 AND lease_token = $2 AND due_at > $3",
                cancellationToken).ConfigureAwait(false))
                .Text(lease.Delivery.Id).Bigint(token).Time(now).Time(now + retention).Text(error);
        return await PostgresDatabase.NonQueryAsync(command, cancellationToken).ConfigureAwait(false) == 1;
    }

    public async ValueTask<WebhookDeliveryRecord?> GetAsync(string deliveryId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(deliveryId);
        var now = Now();
        var command = (await _database.CommandAsync(
            $"SELECT job_id, payload, state, attempts, last_error, due_at FROM {_schema}.webhook_outbox WHERE id = $1 AND NOT (state = 2 AND due_at <= $2)",
            cancellationToken).ConfigureAwait(false))
            .Text(deliveryId).Time(now);
        return await PostgresDatabase.ReadAsync(
            command,
            async (reader, ct) =>
            {
                if (!await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    return null;
                }

                var due = reader.GetFieldValue<DateTimeOffset>(5);
                return new WebhookDeliveryRecord
                {
                    Delivery = new WebhookDelivery { Id = deliveryId, JobId = reader.GetString(0), Payload = reader.GetString(1) },
                    Status = reader.GetInt16(2) switch
                    {
                        GivenUp => WebhookDeliveryStatus.GivenUp,
                        Leased when due > now => WebhookDeliveryStatus.Leased,
                        _ => WebhookDeliveryStatus.Waiting,
                    },
                    Attempts = reader.GetInt32(3),
                    LastError = reader.IsDBNull(4) ? null : reader.GetString(4),
                    DueAt = due,
                };
            },
            cancellationToken).ConfigureAwait(false);
    }

    private DateTimeOffset Now() => _database.TimeProvider.GetUtcNow();

    private static bool TryToken(WebhookDeliveryLease lease, out long token) =>
        long.TryParse(lease.Token, NumberStyles.None, CultureInfo.InvariantCulture, out token);
}
