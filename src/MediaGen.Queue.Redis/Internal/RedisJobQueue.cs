using MediaGen.Shared;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// A reliable queue on Redis (see <see cref="QueueScripts"/>). Receives take up to
/// <see cref="RedisQueueOptions.MaxReceiveBatchSize"/> messages per round trip; when none is ready a receive waits
/// for a pub/sub wake-up (sent by the enqueue script) or for the next delayed message or lease expiry to come due,
/// whichever is first, without polling.
/// </summary>
internal sealed class RedisJobQueue : IJobQueue, IAsyncDisposable, IDisposable
{

    private readonly RedisConnection _connection;
    private readonly RedisQueueOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly RedisKeys _keys;
    private readonly RedisKey[] _scriptKeys;
    private readonly RedisChannel _wakeChannel;
    private readonly SemaphoreSlim _subscribeGate = new(1, 1);
    private readonly RedisCommandBatcher<EnqueueItem, long> _enqueues;
    private readonly RedisCommandBatcher<(string MessageId, long Token), long> _completions;
    private TaskCompletionSource _wake = NewSignal();
    private ISubscriber? _subscriber;

    public RedisJobQueue(RedisConnection connection, IOptions<RedisQueueOptions> options, TimeProvider timeProvider, ILogger<RedisJobQueue> logger)
    {
        _connection = connection;
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
        _keys = new RedisKeys(_options.KeyPrefix, _options.QueueName);
        _scriptKeys = _keys.QueueScriptKeys;
        _wakeChannel = RedisChannel.Literal(_keys.WakeChannel);
        _enqueues = new RedisCommandBatcher<EnqueueItem, long>(FlushEnqueuesAsync, MaxBatch);
        _completions = new RedisCommandBatcher<(string, long), long>(FlushCompletionsAsync, MaxBatch);
    }

    /// <summary>The most operations one batched script call carries.</summary>
    private const int MaxBatch = 512;

    internal RedisKeys Keys => _keys;

    internal RedisConnection Connection => _connection;

    internal ILogger Logger => _logger;

    internal TimeSpan LeaseDuration => _options.LeaseDuration;

    /// <summary>
    /// The job store's key root when the store is this package's over the same connection and keys (set by
    /// <see cref="RedisJobLifecycleStore"/>): the receive script then reads each leased message's job in the same call,
    /// and the worker needs no second round trip. Null: the worker reads the job from whatever store there is.
    /// </summary>
    internal string? JobRoot { get; set; }

    public async ValueTask EnqueueAsync(QueueMessage message, EnqueueOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        options ??= EnqueueOptions.Default;
        if (options.Delay < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Delay, "The delay cannot be negative.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        await _enqueues.RunAsync(ToEnqueueItem(message, options, NowMs()), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A message as the enqueue scripts take it: id, body, priority, due time (0 for now) and enqueue time.</summary>
    internal static EnqueueItem ToEnqueueItem(QueueMessage message, EnqueueOptions options, long nowMs)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(
            new QueueMessageBody { Version = 1, JobId = message.JobId, GroupId = message.GroupId, Headers = message.Headers is null ? null : new Dictionary<string, string>(message.Headers, StringComparer.Ordinal) },
            RedisJsonContext.Default.QueueMessageBody);
        var dueMs = options.Delay > TimeSpan.Zero ? nowMs + (long)Math.Ceiling(options.Delay.TotalMilliseconds) : 0;
        return new EnqueueItem(message.MessageId, body, (int)options.Priority, dueMs, nowMs, message.GroupId ?? string.Empty);
    }

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
            static async (s, ct) =>
            {
                var (leases, nextDueMs) = await s.Queue.ReceiveOnceAsync(s.Count, ct).ConfigureAwait(false);
                return (leases, nextDueMs is { } due ? DateTimeOffset.FromUnixTimeMilliseconds(due) : (DateTimeOffset?)null);
            },
            maxWait,
            _options.IdleCheckInterval,
            _timeProvider,
            cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<DeadLetterMessage>> ListDeadLettersAsync(int maxCount = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        var result = (RedisResult[])(await RunAsync(
            db => db.ScriptEvaluateAsync(QueueScripts.ListDead, _scriptKeys, [_keys.MessagePrefix, _keys.WakeChannel, maxCount]),
            cancellationToken).ConfigureAwait(false))!;
        var list = new List<DeadLetterMessage>(result.Length / 6);
        for (var i = 0; i + 5 < result.Length; i += 6)
        {
            var id = (string)result[i]!;
            var message = TryReadBody((byte[]?)result[i + 1], id, out var parsed, out _) ? parsed! : new QueueMessage(id);
            var description = (string?)result[i + 3];
            list.Add(new DeadLetterMessage(
                message,
                (string)result[i + 2]!,
                string.IsNullOrEmpty(description) ? null : description,
                (int)(long)result[i + 4],
                DateTimeOffset.FromUnixTimeMilliseconds((long)result[i + 5])));
        }

        return list;
    }

    public async ValueTask<bool> ResubmitDeadLetterAsync(string messageId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        var result = await RunAsync(
            db => db.ScriptEvaluateAsync(QueueScripts.Resubmit, _scriptKeys, [_keys.MessagePrefix, _keys.WakeChannel, messageId]),
            cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    public async ValueTask<bool> DeleteDeadLetterAsync(string messageId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        var result = await RunAsync(
            db => db.ScriptEvaluateAsync(QueueScripts.DeleteDead, _scriptKeys, [_keys.MessagePrefix, _keys.WakeChannel, messageId]),
            cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    public async ValueTask<QueueDepth> GetDepthAsync(CancellationToken cancellationToken = default)
    {
        var db = await GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var batch = db.CreateBatch();
            var ready = batch.SortedSetLengthAsync(_keys.Ready);
            var delayed = batch.SortedSetLengthAsync(_keys.Delayed);
            var leased = batch.SortedSetLengthAsync(_keys.Leased);
            var dead = batch.SortedSetLengthAsync(_keys.Dead);
            batch.Execute();
            return new QueueDepth(
                await ready.ConfigureAwait(false),
                await delayed.ConfigureAwait(false),
                await leased.ConfigureAwait(false),
                await dead.ConfigureAwait(false));
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
        {
            throw RedisErrors.Unavailable(e);
        }
    }

    /// <remarks>The ready set is ordered as receivers take from it (priority band, then fair-share tag): the rank is the position.</remarks>
    public async ValueTask<long?> GetPositionAsync(string messageId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        var db = await GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await db.SortedSetRankAsync(_keys.Ready, messageId).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
        {
            throw RedisErrors.Unavailable(e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        var subscriber = _subscriber;
        if (subscriber is not null)
        {
            try
            {
                await subscriber.UnsubscribeAsync(_wakeChannel).ConfigureAwait(false);
            }
            catch (Exception e) when (RedisErrors.IsUnavailable(e) || e is ObjectDisposedException)
            {
                // The subscription dies with the connection anyway.
            }
        }

        Volatile.Read(ref _wake).TrySetResult();
    }

    public void Dispose()
    {
        _subscriber?.Unsubscribe(_wakeChannel, flags: CommandFlags.FireAndForget);
        Volatile.Read(ref _wake).TrySetResult();
    }

    /// <summary>Runs the settle script for a lease; returns false when the lease was no longer held.</summary>
    internal async ValueTask<(bool Held, long Result)> SettleAsync(string operation, string messageId, long token, long argument, string? reason, string? description, CancellationToken cancellationToken)
    {
        var result = await RunAsync(
            db => db.ScriptEvaluateAsync(QueueScripts.Settle, _scriptKeys,
            [
                _keys.MessagePrefix, _keys.WakeChannel, operation, messageId, token, NowMs(), argument,
                reason ?? string.Empty, description ?? string.Empty,
            ]),
            cancellationToken).ConfigureAwait(false);
        var value = (long)result;
        return (value != -1, value);
    }

    /// <summary>Completes a lease (batched with other completions in flight); returns false when the lease was no longer held.</summary>
    internal async ValueTask<bool> CompleteAsync(string messageId, long token, CancellationToken cancellationToken) =>
        await _completions.RunAsync((messageId, token), cancellationToken).ConfigureAwait(false) == 1;

    internal long NowMs() => _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();

    private async ValueTask<(IReadOnlyList<IQueueLease> Leases, long? NextDueMs)> ReceiveOnceAsync(int count, CancellationToken cancellationToken)
    {
        var now = NowMs();
        var leaseMs = (long)Math.Ceiling(_options.LeaseDuration.TotalMilliseconds);
        var jobRoot = JobRoot;
        var result = (RedisResult[])(await RunAsync(
            db => QueueScripts.ReceiveScript.EvaluateAsync(db, _scriptKeys, [_keys.MessagePrefix, _keys.WakeChannel, now, count, leaseMs, jobRoot ?? string.Empty]),
            cancellationToken).ConfigureAwait(false))!;

        long? nextDue = null;
        if (result.Length == 1)
        {
            var next = (string?)result[0];
            if (!string.IsNullOrEmpty(next))
            {
                nextDue = long.Parse(next, NumberStyles.Integer, CultureInfo.InvariantCulture);
            }

            return ([], nextDue);
        }

        var lockedUntil = DateTimeOffset.FromUnixTimeMilliseconds(now + leaseMs);
        var stride = jobRoot is null ? 6 : 7;
        var leases = new List<IQueueLease>((result.Length - 1) / stride);
        for (var i = 1; i + stride - 1 < result.Length; i += stride)
        {
            var id = (string)result[i]!;
            var deliveryCount = (int)(long)result[i + 2];
            var token = (long)result[i + 3];
            var enqueuedAt = DateTimeOffset.FromUnixTimeMilliseconds((long)result[i + 4]);
            var priority = (JobPriority)(int)(long)result[i + 5];
            if (!TryReadBody((byte[]?)result[i + 1], id, out var message, out var error))
            {
                await DeadLetterMalformedAsync(id, token, error, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var jobJson = jobRoot is null ? null : (byte[]?)result[i + 6];
            leases.Add(new RedisQueueLease(this, message!, token, deliveryCount, enqueuedAt, lockedUntil, priority, _logger, jobJson));
        }

        return (leases, nextDue);
    }

    private async Task<long[]> FlushEnqueuesAsync(IReadOnlyList<EnqueueItem> items)
    {
        var values = new RedisValue[2 + (items.Count * 6)];
        values[0] = _keys.MessagePrefix;
        values[1] = _keys.WakeChannel;
        var n = 2;
        foreach (var item in items)
        {
            values[n++] = item.MessageId;
            values[n++] = item.Body;
            values[n++] = item.Priority;
            values[n++] = item.DueMs;
            values[n++] = item.EnqueuedAtMs;
            values[n++] = item.Group;
        }

        return ToLongs(await RunAsync(db => db.ScriptEvaluateAsync(QueueScripts.EnqueueMany, _scriptKeys, values), CancellationToken.None).ConfigureAwait(false));
    }

    private async Task<long[]> FlushCompletionsAsync(IReadOnlyList<(string MessageId, long Token)> items)
    {
        var values = new RedisValue[3 + (items.Count * 2)];
        values[0] = _keys.MessagePrefix;
        values[1] = _keys.WakeChannel;
        values[2] = NowMs();
        var n = 3;
        foreach (var (messageId, token) in items)
        {
            values[n++] = messageId;
            values[n++] = token;
        }

        return ToLongs(await RunAsync(db => db.ScriptEvaluateAsync(QueueScripts.CompleteMany, _scriptKeys, values), CancellationToken.None).ConfigureAwait(false));
    }

    private static long[] ToLongs(RedisResult result)
    {
        var items = (RedisResult[])result!;
        var values = new long[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            values[i] = (long)items[i];
        }

        return values;
    }

    private async ValueTask DeadLetterMalformedAsync(string id, long token, Exception? error, CancellationToken cancellationToken)
    {
        Log.MalformedMessageDeadLettered(_logger, id, error);
        await SettleAsync("dead", id, token, 0, MediaGenErrorCodes.MalformedMessage,
            "The queue message body is not a MediaGen job message" + (error is null ? "." : ": " + error.Message),
            cancellationToken).ConfigureAwait(false);
    }

    private static bool TryReadBody(byte[]? body, string id, out QueueMessage? message, out Exception? error)
    {
        message = null;
        error = null;
        if (body is null || body.Length == 0)
        {
            return false;
        }

        try
        {
            var parsed = JsonSerializer.Deserialize(body, RedisJsonContext.Default.QueueMessageBody);
            if (parsed is not { Version: 1, JobId.Length: > 0 })
            {
                return false;
            }

            message = new QueueMessage(parsed.JobId) { MessageId = id, Headers = parsed.Headers, GroupId = parsed.GroupId };
            return true;
        }
        catch (JsonException e)
        {
            error = e;
            return false;
        }
    }

    private async ValueTask EnsureWakeSubscriptionAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _subscriber) is not null)
        {
            return;
        }

        await _subscribeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_subscriber is not null)
            {
                return;
            }

            var multiplexer = await _connection.GetMultiplexerAsync(cancellationToken).ConfigureAwait(false);
            var subscriber = multiplexer.GetSubscriber();
            await subscriber.SubscribeAsync(_wakeChannel, (_, _) => Wake()).ConfigureAwait(false);

            // A notification lost while the connection was down is made up for by looking again at once.
            multiplexer.ConnectionRestored += (_, _) => Wake();
            Volatile.Write(ref _subscriber, subscriber);
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
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

    private async ValueTask<IDatabase> GetDatabaseAsync(CancellationToken cancellationToken) =>
        await _connection.GetDatabaseAsync(cancellationToken).ConfigureAwait(false);

    private async ValueTask<RedisResult> RunAsync(Func<IDatabase, Task<RedisResult>> command, CancellationToken cancellationToken)
    {
        var db = await GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await command(db).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
        {
            throw RedisErrors.Unavailable(e);
        }
    }
}

/// <summary>One enqueue waiting to be sent with others.</summary>
internal readonly record struct EnqueueItem(string MessageId, byte[] Body, int Priority, long DueMs, long EnqueuedAtMs, string Group);
