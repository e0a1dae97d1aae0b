using MediaGen.Shared;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace MediaGen.PostgreSql.Internal;

/// <summary>
/// A reliable queue on PostgreSQL (functions <c>queue_*</c> of the migrations). A receive leases up to
/// <see cref="PostgreSqlOptions.MaxReceiveBatchSize"/> ready messages with <c>FOR UPDATE SKIP LOCKED</c>, so concurrent
/// receivers in any number of processes never wait for each other nor take the same message. When none is ready it waits
/// for a <c>NOTIFY</c> on the schema's wake channel (sent by every enqueue and every return to the queue) or for the next
/// delayed message or lease expiry to fall due, whichever is first; <see cref="PostgreSqlOptions.IdleCheckInterval"/> is
/// only a safety net.
/// </summary>
internal sealed class PostgresJobQueue : IJobQueue, IAsyncDisposable, IDisposable
{

    private readonly PostgresDatabase _database;
    private readonly PostgreSqlOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly string _schema;
    private readonly SemaphoreSlim _subscribeGate = new(1, 1);
    private TaskCompletionSource _wake = NewSignal();
    private IAsyncDisposable? _subscription;
    private bool _disposed;

    public PostgresJobQueue(PostgresDatabase database, IOptions<PostgreSqlOptions> options, ILogger<PostgresJobQueue> logger)
    {
        _database = database;
        _options = options.Value;
        _timeProvider = database.TimeProvider;
        _logger = logger;
        _schema = database.QuotedSchema;
    }

    internal PostgresDatabase Database => _database;

    internal ILogger Logger => _logger;

    /// <summary>
    /// True when the job store is this package's over the same database (set by <see cref="PostgresJobLifecycleStore"/>):
    /// the receive statement then also reads each leased message's job, and the worker needs no second round trip.
    /// </summary>
    internal bool ReadsJobs { get; set; }

    internal TimeSpan LeaseDuration => _options.LeaseDuration;

    public async ValueTask EnqueueAsync(QueueMessage message, EnqueueOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        options = CheckOptions(options);
        var command = await _database.CommandAsync($"SELECT {_schema}.queue_enqueue($1, $2, $3, $4, $5, $6, $7)", cancellationToken).ConfigureAwait(false);
        AddMessage(command.Text(message.MessageId).Text(message.JobId), message, options).Time(_timeProvider.GetUtcNow());
        await PostgresDatabase.ScalarAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Checks enqueue options: null is the default; a negative delay is refused.</summary>
    internal static EnqueueOptions CheckOptions(EnqueueOptions? options)
    {
        options ??= EnqueueOptions.Default;
        return options.Delay < TimeSpan.Zero
            ? throw new ArgumentOutOfRangeException(nameof(options), options.Delay, "The delay cannot be negative.")
            : options;
    }

    /// <summary>Adds a message's group, headers, priority and delay (ms), in the order the functions take them after its ids.</summary>
    internal static NpgsqlCommand AddMessage(NpgsqlCommand command, QueueMessage message, EnqueueOptions options) =>
        command.Text(message.GroupId)
            .Json(message.Headers is null ? null : JsonSerializer.Serialize(new Dictionary<string, string>(message.Headers, StringComparer.Ordinal), PostgresJsonContext.Default.DictionaryStringString))
            .Smallint((short)options.Priority)
            .Bigint(options.Delay > TimeSpan.Zero ? (long)Math.Ceiling(options.Delay.TotalMilliseconds) : 0);

    public async ValueTask<IReadOnlyList<IQueueLease>> ReceiveAsync(int maxMessages, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWait, TimeSpan.Zero);
        var count = Math.Min(maxMessages, _options.MaxReceiveBatchSize);
        if (maxWait > TimeSpan.Zero)
        {
            await EnsureWakeSubscriptionAsync(cancellationToken).ConfigureAwait(false);
        }

        return await WakeableReceive.ReceiveAsync(
            (Queue: this, Count: count),
            static s => Volatile.Read(ref s.Queue._wake).Task,
            static (s, ct) => s.Queue.ReceiveOnceAsync(s.Count, ct),
            maxWait,
            _options.IdleCheckInterval,
            _timeProvider,
            cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<(IReadOnlyList<IQueueLease> Leases, DateTimeOffset? NextDue)> ReceiveOnceAsync(int count, CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();
        var leaseMs = (long)Math.Ceiling(_options.LeaseDuration.TotalMilliseconds);
        var lockedUntil = now.AddMilliseconds(leaseMs);
        var readsJobs = ReadsJobs;
        var command = (await _database.CommandAsync(
            readsJobs
                ? $"SELECT r.id, r.job_id, r.group_id, r.headers::text, r.priority, r.delivery_count, r.lease_token, r.enqueued_at, r.next_due, " +
                  $"(SELECT j.data::text FROM {_schema}.jobs j WHERE j.id = r.job_id) FROM {_schema}.queue_receive($1, $2, $3) r"
                : $"SELECT id, job_id, group_id, headers::text, priority, delivery_count, lease_token, enqueued_at, next_due FROM {_schema}.queue_receive($1, $2, $3)",
            cancellationToken).ConfigureAwait(false))
            .Time(now).Integer(count).Bigint(leaseMs);
        return await PostgresDatabase.ReadAsync(
            command,
            async (reader, ct) =>
            {
                var leases = new List<IQueueLease>();
                DateTimeOffset? nextDue = null;
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    if (reader.IsDBNull(0))
                    {
                        nextDue = reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8);
                        continue;
                    }

                    var message = ReadMessage(reader);
                    leases.Add(new PostgresQueueLease(
                        this,
                        message,
                        reader.GetInt64(6),
                        reader.GetInt32(5),
                        reader.GetFieldValue<DateTimeOffset>(7),
                        lockedUntil,
                        (JobPriority)reader.GetInt16(4),
                        readsJobs && !reader.IsDBNull(9) ? reader.GetString(9) : null));
                }

                return ((IReadOnlyList<IQueueLease>)leases, nextDue);
            },
            cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<DeadLetterMessage>> ListDeadLettersAsync(int maxCount = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        var command = (await _database.CommandAsync(
            $"SELECT id, job_id, group_id, headers::text, dead_reason, dead_description, delivery_count, dead_at FROM {_schema}.queue_messages " +
            "WHERE state = 3 ORDER BY dead_at, seq LIMIT $1",
            cancellationToken).ConfigureAwait(false)).Integer(maxCount);
        return await PostgresDatabase.ReadAsync<IReadOnlyList<DeadLetterMessage>>(
            command,
            async (reader, ct) =>
            {
                var list = new List<DeadLetterMessage>();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    var message = ReadMessage(reader);
                    list.Add(new DeadLetterMessage(
                        message,
                        reader.GetString(4),
                        reader.IsDBNull(5) || reader.GetString(5).Length == 0 ? null : reader.GetString(5),
                        reader.GetInt32(6),
                        reader.GetFieldValue<DateTimeOffset>(7)));
                }

                return list;
            },
            cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> ResubmitDeadLetterAsync(string messageId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        var command = (await _database.CommandAsync($"SELECT {_schema}.queue_resubmit($1)", cancellationToken).ConfigureAwait(false)).Text(messageId);
        return (bool)(await PostgresDatabase.ScalarAsync(command, cancellationToken).ConfigureAwait(false))!;
    }

    public async ValueTask<bool> DeleteDeadLetterAsync(string messageId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        var command = (await _database.CommandAsync($"DELETE FROM {_schema}.queue_messages WHERE id = $1 AND state = 3", cancellationToken).ConfigureAwait(false)).Text(messageId);
        return await PostgresDatabase.NonQueryAsync(command, cancellationToken).ConfigureAwait(false) == 1;
    }

    public async ValueTask<QueueDepth> GetDepthAsync(CancellationToken cancellationToken = default)
    {
        var command = await _database.CommandAsync(
            "SELECT count(*) FILTER (WHERE state = 0), count(*) FILTER (WHERE state = 1), count(*) FILTER (WHERE state = 2), count(*) FILTER (WHERE state = 3) " +
            $"FROM {_schema}.queue_messages",
            cancellationToken).ConfigureAwait(false);
        return await PostgresDatabase.ReadAsync(
            command,
            async (reader, ct) =>
            {
                await reader.ReadAsync(ct).ConfigureAwait(false);
                return new QueueDepth(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <remarks>Receivers take ready messages by priority, then fair-share tag, then sequence: the count before it in that order.</remarks>
    public async ValueTask<long?> GetPositionAsync(string messageId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        var command = (await _database.CommandAsync(
            $"SELECT (SELECT count(*) FROM {_schema}.queue_messages o WHERE o.state = 0 " +
            "AND (o.priority > me.priority OR (o.priority = me.priority AND (o.tag, o.seq) < (me.tag, me.seq)))) " +
            $"FROM {_schema}.queue_messages me WHERE me.id = $1 AND me.state = 0",
            cancellationToken).ConfigureAwait(false)).Text(messageId);
        return await PostgresDatabase.ScalarAsync(command, cancellationToken).ConfigureAwait(false) is long ahead ? ahead : null;
    }

    /// <summary>A message from a row whose first four columns are its id, job id, group and headers.</summary>
    private static QueueMessage ReadMessage(NpgsqlDataReader reader) => new(reader.GetString(1))
    {
        MessageId = reader.GetString(0),
        GroupId = reader.IsDBNull(2) ? null : reader.GetString(2),
        Headers = reader.IsDBNull(3) ? null : JsonSerializer.Deserialize(reader.GetString(3), PostgresJsonContext.Default.DictionaryStringString),
    };

    /// <summary>Settles or renews a lease (the operations of <c>queue_settle</c>); false when the lease was no longer held.</summary>
    internal async ValueTask<bool> SettleAsync(LeaseOperation operation, string messageId, long token, long milliseconds, string? reason, string? description, CancellationToken cancellationToken)
    {
        var command = (await _database.CommandAsync($"SELECT {_schema}.queue_settle($1, $2, $3, $4, $5, $6, $7)", cancellationToken).ConfigureAwait(false))
            .Smallint((short)operation).Text(messageId).Bigint(token).Time(_timeProvider.GetUtcNow()).Bigint(milliseconds).Text(reason).Text(description);
        return (long)(await PostgresDatabase.ScalarAsync(command, cancellationToken).ConfigureAwait(false))! == 1;
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    public void Dispose()
    {
        IAsyncDisposable? subscription;
        _subscribeGate.Wait();
        try
        {
            _disposed = true;
            subscription = _subscription;
            _subscription = null;
        }
        finally
        {
            _subscribeGate.Release();
        }

        // A listener subscription only removes its handler when disposed: nothing to wait for.
        if (subscription is IDisposable disposable)
        {
            _database.Listener.Reconnected -= Wake;
            disposable.Dispose();
        }

        Volatile.Read(ref _wake).TrySetResult();
    }

    private async ValueTask EnsureWakeSubscriptionAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _subscription) is not null)
        {
            return;
        }

        await _subscribeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_subscription is not null || _disposed)
            {
                return;
            }

            var listener = _database.Listener;
            var subscription = await listener.ListenAsync(_database.WakeChannel, _ => Wake(), cancellationToken).ConfigureAwait(false);

            // Notifications lost while the listening connection was down are made up for by looking again at once.
            listener.Reconnected += Wake;
            Volatile.Write(ref _subscription, subscription);
        }
        catch (QueueUnavailableException e)
        {
            // Receives still work; they look again every IdleCheckInterval until a later receive subscribes.
            Log.WakeSubscriptionFailed(_logger, _options.IdleCheckInterval, e);
        }
        finally
        {
            _subscribeGate.Release();
        }
    }

    private void Wake() => Interlocked.Exchange(ref _wake, NewSignal()).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>The lease operations of <c>queue_settle</c>.</summary>
internal enum LeaseOperation : short
{
    Complete = 1,
    Abandon = 2,
    DeadLetter = 3,
    Renew = 4,

    /// <summary>Abandon without counting the delivery (migration 0007).</summary>
    Defer = 5,
}
