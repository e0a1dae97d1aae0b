using MediaGen.Shared;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace MediaGen.PostgreSql.Internal;

/// <summary>
/// The lifecycle store when the job store, credit ledger, queue and event stream are all PostgreSQL over one database and
/// schema: each step is one call of <c>lifecycle_submit</c> or <c>lifecycle_commit</c>, one transaction applied whole or not
/// at all, in one round trip. The event is numbered and kept in the same transaction, and its <c>NOTIFY</c> is sent when the
/// transaction commits, so a subscriber never hears of a step that did not happen. A lease from another queue is settled through its own methods after the transaction, as
/// a composed store would. A step's terminal webhook is added to the PostgreSQL webhook outbox in the same statement, so
/// a job never finishes without its delivery.
/// </summary>
internal sealed class PostgresJobLifecycleStore : IJobLifecycleStore
{
    private readonly PostgresDatabase _database;
    private readonly PostgresJobQueue _queue;
    private readonly PostgresCreditLedger _ledger;
    private readonly PostgresJobEventStream _events;
    private readonly ILogger _logger;
    private readonly string _schema;
    private readonly IWebhookOutbox? _outbox;
    private readonly bool _ownOutbox;

    public PostgresJobLifecycleStore(PostgresDatabase database, PostgresJobQueue queue, PostgresCreditLedger ledger, PostgresJobEventStream events, ILogger logger, IWebhookOutbox? outbox = null)
    {
        _database = database;
        _outbox = outbox;
        _ownOutbox = outbox is PostgresWebhookOutbox own && ReferenceEquals(own.Database, database);
        _queue = queue;
        _ledger = ledger;
        _events = events;
        _logger = logger;
        _schema = database.QuotedSchema;

        // The store is this package's over the same database: the queue's receive can read each message's job with it.
        queue.ReadsJobs = true;
    }

    /// <summary>
    /// The PostgreSQL lifecycle store when every resolved seam is this package's, over the same database; null otherwise
    /// (a seam was replaced), and MediaGen composes the seams instead.
    /// </summary>
    public static IJobLifecycleStore? TryCreate(IServiceProvider services)
    {
        var database = (PostgresDatabase?)services.GetService(typeof(PostgresDatabase));
        return database is not null
            && services.GetService(typeof(IJobStore)) is PostgresJobStore store && ReferenceEquals(store.Database, database)
            && services.GetService(typeof(ICreditLedger)) is PostgresCreditLedger ledger && ReferenceEquals(ledger.Database, database)
            && services.GetService(typeof(IJobQueue)) is PostgresJobQueue queue && ReferenceEquals(queue.Database, database)
            && services.GetService(typeof(IJobEventStream)) is PostgresJobEventStream events && ReferenceEquals(events.Database, database)
            ? new PostgresJobLifecycleStore(database, queue, ledger, events, queue.Logger, (IWebhookOutbox?)services.GetService(typeof(IWebhookOutbox)))
            : null;
    }

    public async ValueTask<JobCreateResult> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(submission.Job);
        ArgumentNullException.ThrowIfNull(submission.Message);
        ArgumentOutOfRangeException.ThrowIfNegative(submission.Credits);
        var enqueueOptions = PostgresJobQueue.CheckOptions(submission.EnqueueOptions);
        var job = submission.Job;
        var stored = PostgresJobStore.ForCreate(job, _database.TimeProvider);
        var json = PostgresJsonContext.Serialize(stored);
        var (channel, payload) = Event(submission.Event);

        // A unique violation means another writer took the idempotency key between the look and the insert; the whole
        // transaction was rolled back, and the next try finds the job it created.
        for (var attempt = 1; ; attempt++)
        {
            var command = (await _database.CommandAsync(
                $"SELECT outcome, figure, data::text FROM {_schema}.lifecycle_submit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
                cancellationToken).ConfigureAwait(false))
                .Text(job.Id).Text(job.OwnerId).Text(job.Request.IdempotencyKey).Smallint((short)stored.Status).Time(stored.UpdatedAt).Json(json)
                .Bigint(submission.Credits).Bigint(_ledger.InitialBalance).Time(_database.TimeProvider.GetUtcNow()).Integer(submission.MaxPendingJobs)
                .Text(submission.Message.MessageId);
            PostgresJobQueue.AddMessage(command, submission.Message, enqueueOptions).Text(channel).Text(payload)
                .Integer(_events.HistoryLength).Bigint(_events.HistoryRetentionMs);
            (int Outcome, long? Figure, string? Data) result;
            try
            {
                result = await PostgresDatabase.ReadAsync(
                    command,
                    async (reader, ct) =>
                    {
                        await reader.ReadAsync(ct).ConfigureAwait(false);
                        return (reader.GetInt32(0), reader.IsDBNull(1) ? (long?)null : reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2));
                    },
                    cancellationToken).ConfigureAwait(false);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && attempt < 3)
            {
                continue;
            }

            return result.Outcome switch
            {
                1 => new JobCreateResult(stored, Created: true),
                0 => new JobCreateResult(PostgresJsonContext.DeserializeJob(result.Data!), Created: false),
                -2 => throw new InsufficientCreditsException(job.OwnerId, submission.Credits, result.Figure!.Value),
                -3 => throw new OwnerLimitExceededException(job.OwnerId, OwnerLimit.PendingJobs, submission.MaxPendingJobs!.Value, submission.PendingLimitRetryAfter),
                _ => throw new InvalidOperationException($"A job with id '{job.Id}' already exists."),
            };
        }
    }

    public async ValueTask<bool> CommitAsync(JobCommit commit, CancellationToken cancellationToken = default)
    {
        commit.EnsureValid();

        var runId = GenerationJob.FormatRunId(commit.JobId, commit.Run);

        LeaseSettlement? settlement = commit.Lease is { Action: not LeaseAction.Keep } s ? s : null;
        var own = settlement?.Lease is PostgresQueueLease lease && ReferenceEquals(lease.Queue, _queue) ? lease : null;
        var claimed = own is not null && own.TryClaimSettle();
        var job = commit.Job is { } next ? next with { Version = commit.ExpectedVersion + 1 } : null;
        var enqueueOptions = commit.Enqueue is null ? null : PostgresJobQueue.CheckOptions(commit.EnqueueOptions);
        var (channel, payload) = Event(commit.Event);
        var preceding = channel is not null && commit.PrecedingEvent is { } before ? PostgresJobEventStream.Payload(before, _logger) : null;

        (bool Applied, long Lease, long? ShortBalance) result;
        try
        {
            var webhook = _ownOutbox ? commit.Webhook : null;
            var command = (await _database.CommandAsync(
                CommitSql(withWebhook: webhook is not null, withPreceding: preceding is not null),
                cancellationToken).ConfigureAwait(false))
                .Text(commit.JobId).Text(commit.OwnerId)
                .Bigint(job is null ? null : commit.ExpectedVersion).Smallint(job is null ? null : (short)job.Status).Time(job?.UpdatedAt)
                .Json(job is null ? null : PostgresJsonContext.Serialize(job))
                .Bigint(commit.Settlement).Bigint(_ledger.InitialBalance).Time(_database.TimeProvider.GetUtcNow());
            if (commit.Enqueue is { } message)
            {
                PostgresJobQueue.AddMessage(command.Text(message.MessageId), message, enqueueOptions!);
            }
            else
            {
                command.Text(null).Text(null).Json(null).Smallint(null).Bigint(null);
            }

            command.Smallint(claimed ? (short)Operation(settlement!.Value) : null)
                .Text(claimed ? own!.Message.MessageId : null)
                .Bigint(claimed ? own!.Token : null)
                .Bigint(claimed ? (long)Math.Ceiling(settlement!.Value.Delay.TotalMilliseconds) : null)
                .Text(claimed ? settlement!.Value.Reason ?? MediaGenErrorCodes.InternalError : null)
                .Text(claimed ? settlement!.Value.Description : null)
                .Text(channel).Text(payload)
                .Text(runId).Bigint(commit.Reserve)
                .Integer(_events.HistoryLength).Bigint(_events.HistoryRetentionMs);
            if (webhook is not null)
            {
                command.Text(webhook.Id).Text(webhook.Payload);
            }

            if (preceding is not null)
            {
                command.Text(preceding);
            }

            result = await PostgresDatabase.ReadAsync(
                command,
                async (reader, ct) =>
                {
                    await reader.ReadAsync(ct).ConfigureAwait(false);
                    return (reader.GetBoolean(0), reader.GetInt64(1), reader.IsDBNull(2) ? (long?)null : reader.GetInt64(2));
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            if (claimed)
            {
                own!.ReleaseSettle();
            }

            throw;
        }

        if (!result.Applied)
        {
            if (claimed)
            {
                own!.ReleaseSettle();
            }

            return result.ShortBalance is { } balance
                ? throw new InsufficientCreditsException(commit.OwnerId, commit.Reserve!.Value, balance)
                : false;
        }

        if (settlement is not null && own is not null && (!claimed || result.Lease == -1))
        {
            // Expired, delivered again, or already settled: the step stands, and the message finds the job as it left it.
            Log.LifecycleLeaseLost(_logger, commit.JobId);
        }
        else if (settlement is { } foreign && own is null)
        {
            await ForeignLeaseSettlement.ApplyAsync(foreign, _logger, commit.JobId, Log.LifecycleLeaseSettleFailed).ConfigureAwait(false);
        }

        if (!_ownOutbox && commit.Webhook is { } late && _outbox is not null)
        {
            // Another backend's outbox cannot join the transaction: it gets the delivery right after (a crash between loses it).
            try
            {
                await _outbox.AddAsync(late, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.WebhookNotStored(_logger, commit.JobId, late.Id, e);
            }
        }

        return true;
    }

    private readonly string?[] _commitSql = new string?[4];

    /// <summary>
    /// The step's statement: <c>lifecycle_commit</c>, and with <paramref name="withWebhook"/> the webhook delivery ($27 id,
    /// $28 payload, due at the step's time $9) added to the outbox when the step applied, in the same statement and so the
    /// same transaction. With <paramref name="withPreceding"/> the step goes through <c>lifecycle_commit_after_event</c>,
    /// which publishes the preceding event (the last parameter, $27 or $29) just before the step's own.
    /// </summary>
    private string CommitSql(bool withWebhook, bool withPreceding) =>
        _commitSql[(withWebhook ? 1 : 0) + (withPreceding ? 2 : 0)] ??= BuildCommitSql(withWebhook, withPreceding);

    private string BuildCommitSql(bool withWebhook, bool withPreceding)
    {
        const string Arguments = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)";
        var call = withPreceding ? $"lifecycle_commit_after_event(${(withWebhook ? 29 : 27)}, " + Arguments : "lifecycle_commit(" + Arguments;
        return withWebhook
            ? $"WITH c AS MATERIALIZED (SELECT applied, lease, short_balance FROM {_schema}.{call}), " +
              $"w AS (INSERT INTO {_schema}.webhook_outbox (id, job_id, payload, state, due_at, attempts, created_at) " +
              "SELECT $27, $1, $28, 0, $9, 0, $9 FROM c WHERE c.applied ON CONFLICT (id) DO NOTHING) " +
              "SELECT applied, lease, short_balance FROM c"
            : $"SELECT applied, lease, short_balance FROM {_schema}.{call}";
    }

    private static LeaseOperation Operation(LeaseSettlement settlement) => settlement.Action switch
    {
        LeaseAction.Complete => LeaseOperation.Complete,
        LeaseAction.Abandon => settlement.Deferred ? LeaseOperation.Defer : LeaseOperation.Abandon,
        _ => LeaseOperation.DeadLetter,
    };

    private (string? Channel, string? Payload) Event(JobEvent? jobEvent) =>
        jobEvent is null || PostgresJobEventStream.Payload(jobEvent, _logger) is not { } payload
            ? (null, null)
            : (_database.EventChannel(jobEvent.JobId), payload);
}
