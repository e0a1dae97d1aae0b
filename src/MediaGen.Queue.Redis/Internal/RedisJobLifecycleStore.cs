using MediaGen.Shared;
using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// The lifecycle store when the job store, credit ledger, queue and event stream are all Redis over one connection and
/// key prefix: each step is one <see cref="LifecycleScripts"/> step, applied whole or not at all, in one round trip.
/// Steps taken while a call is in flight go together in the next call (group commit), so a busy process pays a round
/// trip per batch, not per step. A lease from another queue is settled through its own methods after the script, as a
/// composed store would. A step's terminal webhook is added to the Redis webhook outbox in the same script, so a job never
/// finishes without its delivery.
/// </summary>
internal sealed class RedisJobLifecycleStore : IJobLifecycleStore
{
    private readonly RedisConnection _connection;
    private readonly RedisJobQueue _queue;
    private readonly RedisCreditLedger _ledger;
    private readonly RedisJobEventStream _events;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long _retentionMs;
    private readonly RedisCommandBatcher<Step, RedisResult> _submits;
    private readonly RedisCommandBatcher<Step, RedisResult> _commits;
    private readonly IWebhookOutbox? _outbox;
    private readonly bool _ownOutbox;
    private readonly RedisKey[] _scriptKeys;
    private readonly ExactLengthArrays<RedisValue> _submitArgs = new(HeaderArgs + (LifecycleScripts.SubmitArity * MaxBatch));
    private readonly ExactLengthArrays<RedisValue> _commitArgs = new(HeaderArgs + (LifecycleScripts.CommitArity * MaxBatch));
    private readonly FixedLengthArrays<RedisValue> _submitSteps = new(LifecycleScripts.SubmitArity, MaxBatch);
    private readonly FixedLengthArrays<RedisValue> _commitSteps = new(LifecycleScripts.CommitArity, MaxBatch);

    /// <summary>
    /// The most steps one script call carries. Beyond about 32 the call's fixed cost (about 12 µs on the server) is
    /// already spread thin, while a longer script keeps Redis from other clients for longer; and each batch size up to
    /// this keeps its argument array for the next call of its size (see <see cref="ExactLengthArrays{T}"/>).
    /// </summary>
    private const int MaxBatch = 32;

    public RedisJobLifecycleStore(
        RedisConnection connection,
        RedisJobQueue queue,
        RedisCreditLedger ledger,
        RedisJobEventStream events,
        IOptions<RedisQueueOptions> options,
        TimeProvider timeProvider,
        ILogger logger,
        IWebhookOutbox? outbox = null)
    {
        _connection = connection;
        _outbox = outbox;
        _ownOutbox = outbox is RedisWebhookOutbox own && ReferenceEquals(own.Connection, connection);
        _queue = queue;
        _ledger = ledger;
        _events = events;
        _keys = new RedisKeys(options.Value.KeyPrefix, options.Value.QueueName);
        _time = timeProvider;
        _logger = logger;
        // The store is this package's over the same keys: the queue's receive can read each message's job with it.
        queue.JobRoot = _keys.Root;
        _retentionMs = options.Value.FinishedJobRetention is { } retention ? (long)retention.TotalMilliseconds : -1;
        _scriptKeys = [.. _keys.QueueScriptKeys, _keys.CreditOpen];
        _submits = new RedisCommandBatcher<Step, RedisResult>(steps => FlushAsync(LifecycleScripts.SubmitScript, LifecycleScripts.SubmitArity, _submitArgs, _submitSteps, steps), MaxBatch);
        _commits = new RedisCommandBatcher<Step, RedisResult>(steps => FlushAsync(LifecycleScripts.CommitScript, LifecycleScripts.CommitArity, _commitArgs, _commitSteps, steps), MaxBatch);
    }

    /// <summary>
    /// The Redis lifecycle store when every resolved seam is this package's, over the same connection; null otherwise
    /// (a seam was replaced), and MediaGen composes the seams instead.
    /// </summary>
    public static IJobLifecycleStore? TryCreate(IServiceProvider services)
    {
        var connection = (RedisConnection?)services.GetService(typeof(RedisConnection));
        return connection is not null
            && services.GetService(typeof(IJobStore)) is RedisJobStore store && ReferenceEquals(store.Connection, connection)
            && services.GetService(typeof(ICreditLedger)) is RedisCreditLedger ledger && ReferenceEquals(ledger.Connection, connection)
            && services.GetService(typeof(IJobQueue)) is RedisJobQueue queue && ReferenceEquals(queue.Connection, connection)
            && services.GetService(typeof(IJobEventStream)) is RedisJobEventStream events && ReferenceEquals(events.Connection, connection)
            && services.GetService(typeof(IOptions<RedisQueueOptions>)) is IOptions<RedisQueueOptions> options
            ? new RedisJobLifecycleStore(
                connection,
                queue,
                ledger,
                events,
                options,
                (TimeProvider?)services.GetService(typeof(TimeProvider)) ?? TimeProvider.System,
                queue.Logger,
                (IWebhookOutbox?)services.GetService(typeof(IWebhookOutbox)))
            : null;
    }

    public async ValueTask<JobCreateResult> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(submission.Job);
        ArgumentNullException.ThrowIfNull(submission.Message);
        ArgumentOutOfRangeException.ThrowIfNegative(submission.Credits);
        var enqueueOptions = EnqueueOptionsOrDefault(submission.EnqueueOptions);
        var job = submission.Job;
        var now = _time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        var stored = job is { Version: 1 } && job.UpdatedAt != default ? job : job with { Version = 1, UpdatedAt = job.UpdatedAt == default ? now : job.UpdatedAt };
        var message = RedisJobQueue.ToEnqueueItem(submission.Message, enqueueOptions, nowMs);
        var json = RedisStepJson.Write(stored, submission.Event);
        var answer = StepResult(job.Id, await RunAsync(
            _submits,
            _submitSteps,
            json,
            [
                job.Id, job.OwnerId, job.Request.IdempotencyKey ?? string.Empty, json.Job, (int)stored.Status,
                stored.UpdatedAt.ToUnixTimeMilliseconds(), nowMs, _retentionMs,
                submission.Credits, _ledger.InitialBalance, RedisKeys.ReservationMember(job.OwnerId, job.Id),
                message.MessageId, message.Body, message.Priority, message.DueMs,
                EventJob(submission.Event), json.Event, message.Group,
                submission.MaxPendingJobs is { } maxPending ? maxPending : string.Empty,
            ],
            cancellationToken).ConfigureAwait(false));
        if (answer.Resp2Type == ResultType.Integer)
        {
            return (long)answer == 1 ? new JobCreateResult(stored, Created: true) : throw new RedisServerException($"Unexpected answer to the submission of job '{job.Id}': {answer}.");
        }

        var result = (RedisResult[])answer!;
        return (long)result[0] switch
        {
            1 => new JobCreateResult(stored, Created: true),
            0 => new JobCreateResult(RedisJobStore.Deserialize((byte[])result[1]!), Created: false),
            -2 => throw new InsufficientCreditsException(job.OwnerId, submission.Credits, (long)result[1]),
            -3 => throw new OwnerLimitExceededException(job.OwnerId, OwnerLimit.PendingJobs, submission.MaxPendingJobs!.Value, submission.PendingLimitRetryAfter),
            _ => throw new InvalidOperationException($"A job with id '{job.Id}' already exists."),
        };
    }

    /// <remarks>
    /// Builds and queues the step synchronously, then awaits it in <see cref="CompleteCommitAsync"/>, whose state machine
    /// holds only what the answer needs (not the whole <see cref="JobCommit"/>): two commits per job made that box the
    /// largest allocation of the Redis pipeline's client.
    /// </remarks>
    public ValueTask<bool> CommitAsync(JobCommit commit, CancellationToken cancellationToken = default)
    {
        commit.EnsureValid();

        LeaseSettlement? settlement = commit.Lease is { Action: not LeaseAction.Keep } s ? s : null;
        var own = settlement?.Lease is RedisQueueLease lease && ReferenceEquals(lease.Queue, _queue) ? lease : null;
        var claimed = own is not null && own.TryClaimSettle();
        Task<RedisResult> pending;
        try
        {
            var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var job = commit.Job is { } next ? (next.Version == commit.ExpectedVersion + 1 ? next : next with { Version = commit.ExpectedVersion + 1 }) : null;
            var enqueue = commit.Enqueue is { } toEnqueue ? RedisJobQueue.ToEnqueueItem(toEnqueue, EnqueueOptionsOrDefault(commit.EnqueueOptions), nowMs) : (EnqueueItem?)null;
            var runId = GenerationJob.FormatRunId(commit.JobId, commit.Run);
            var json = RedisStepJson.Write(job, commit.Event, commit.PrecedingEvent);
            pending = RunAsync(
                _commits,
                _commitSteps,
                json,
                [
                    nowMs, _retentionMs, commit.JobId,
                    job is null ? string.Empty : commit.ExpectedVersion,
                    json.Job,
                    job is null ? string.Empty : (int)job.Status,
                    job is null ? 0 : job.UpdatedAt.ToUnixTimeMilliseconds(),
                    commit.Settlement is { } give ? give : string.Empty,
                    _ledger.InitialBalance,
                    RedisKeys.ReservationMember(commit.OwnerId, runId),
                    enqueue?.MessageId ?? string.Empty,
                    enqueue?.Body ?? RedisValue.EmptyString,
                    enqueue?.Priority ?? 0,
                    enqueue?.DueMs ?? 0,
                    claimed ? Operation(settlement!.Value) : string.Empty,
                    claimed ? own!.Message.MessageId : string.Empty,
                    claimed ? own!.Token : 0,
                    claimed ? (long)Math.Ceiling(settlement!.Value.Delay.TotalMilliseconds) : 0,
                    claimed ? settlement!.Value.Reason ?? MediaGenErrorCodes.InternalError : string.Empty,
                    claimed ? settlement!.Value.Description ?? string.Empty : string.Empty,
                    EventJob(commit.Event), json.Event, enqueue?.Group ?? string.Empty,
                    commit.Reserve is { } credits ? credits : string.Empty, runId,
                    _ownOutbox && commit.Webhook is { } webhook ? webhook.Id : string.Empty,
                    _ownOutbox && commit.Webhook is { } same ? same.Payload : string.Empty,
                    commit.OwnerId,
                    json.PrecedingEvent,
                ],
                cancellationToken);
        }
        catch (Exception e)
        {
            if (claimed)
            {
                own!.ReleaseSettle();
            }

            return ValueTask.FromException<bool>(e);
        }

        return CompleteCommitAsync(pending, commit.JobId, commit.OwnerId, commit.Reserve, settlement, own, claimed, commit.Webhook);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> CompleteCommitAsync(
        Task<RedisResult> pending, string jobId, string ownerId, long? reserve, LeaseSettlement? settlement, RedisQueueLease? own, bool claimed, WebhookDelivery? webhook)
    {
        RedisResult answer;
        try
        {
            answer = StepResult(jobId, await pending.ConfigureAwait(false));
        }
        catch
        {
            if (claimed)
            {
                own!.ReleaseSettle();
            }

            throw;
        }

        // 1 applied, 2 applied with the lease no longer held, 0 not applied, { -2, balance } the run's reservation refused.
        var code = answer.Resp2Type == ResultType.Integer ? (long)answer : (long)((RedisResult[])answer!)[0];
        if (code is 0 or -2)
        {
            if (claimed)
            {
                own!.ReleaseSettle();
            }

            return code == 0 ? false : throw new InsufficientCreditsException(ownerId, reserve!.Value, (long)((RedisResult[])answer!)[1]);
        }

        if (settlement is not null && (!claimed || code == 2) && own is not null)
        {
            // Expired, delivered again, or already settled: the step stands, and the message finds the job as it left it.
            Log.LifecycleLeaseLost(_logger, jobId);
        }
        else if (settlement is { } foreign && own is null)
        {
            await ForeignLeaseSettlement.ApplyAsync(foreign, _logger, jobId, Log.LifecycleLeaseSettleFailed).ConfigureAwait(false);
        }

        if (!_ownOutbox && webhook is { } late && _outbox is not null)
        {
            // Another backend's outbox cannot join the script: it gets the delivery right after (a crash between loses it).
            await AddWebhookAsync(jobId, late).ConfigureAwait(false);
        }

        return true;
    }

    private async ValueTask AddWebhookAsync(string jobId, WebhookDelivery webhook)
    {
        try
        {
            await _outbox!.AddAsync(webhook, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.WebhookNotStored(_logger, jobId, webhook.Id, e);
        }
    }

    private static string Operation(LeaseSettlement settlement) => settlement.Action switch
    {
        LeaseAction.Complete => "complete",
        LeaseAction.Abandon => settlement.Deferred ? "defer" : "abandon",
        _ => "dead",
    };

    /// <summary>The name <c>queue_settle</c> gives a lease operation (see <see cref="QueueScripts.Functions"/>).</summary>
    internal static string Operation(LeaseSettle operation) => operation switch
    {
        LeaseSettle.Complete => "complete",
        LeaseSettle.Abandon => "abandon",
        LeaseSettle.Defer => "defer",
        LeaseSettle.Renew => "renew",
        _ => "dead",
    };

    private static EnqueueOptions EnqueueOptionsOrDefault(EnqueueOptions? options)
    {
        options ??= EnqueueOptions.Default;
        return options.Delay < TimeSpan.Zero
            ? throw new ArgumentOutOfRangeException(nameof(options), options.Delay, "The delay cannot be negative.")
            : options;
    }

    /// <summary>The event argument: the id of the job whose event the step publishes (the script names its channel), or ''.</summary>
    private static RedisValue EventJob(JobEvent? jobEvent) => jobEvent is null ? RedisValue.EmptyString : jobEvent.JobId;

    /// <summary>Takes one step through <paramref name="batcher"/>: it goes out with the next script call, alone or with others.</summary>
    /// <remarks>
    /// The arguments are copied into a pooled array, which the flush copies into the call's own and gives back (a step
    /// costs no array of its own). The step's credit keys are named by the script from its owner and reservation member.
    /// </remarks>
    private static Task<RedisResult> RunAsync(RedisCommandBatcher<Step, RedisResult> batcher, FixedLengthArrays<RedisValue> arrays, RedisStepJson json, ReadOnlySpan<RedisValue> values, CancellationToken cancellationToken)
    {
        var pooled = arrays.Rent();
        values.CopyTo(pooled);
        return batcher.RunAsync(new Step(pooled, json), cancellationToken);
    }

    /// <summary>A step's result, or the error the script raised for that step alone.</summary>
    private static RedisResult StepResult(string jobId, RedisResult result) =>
        result.Resp2Type == ResultType.Array && (RedisResult[])result! is [var code, var message] && code.Resp2Type == ResultType.Integer && (long)code == StepError
            ? throw new RedisServerException($"The lifecycle step for job '{jobId}' failed on the server: {message}")
            : result;

    /// <summary>Sends steps as one script call: the queue's keys and the open-reservation index, then the steps' arguments.</summary>
    private async Task<RedisResult[]> FlushAsync(RedisScript script, int arity, ExactLengthArrays<RedisValue> arrays, FixedLengthArrays<RedisValue> stepArrays, IReadOnlyList<Step> steps)
    {
        var args = arrays.Rent(HeaderArgs + (arity * steps.Count));
        args[0] = _keys.MessagePrefix;
        args[1] = _keys.WakeChannel;
        args[2] = _keys.Root;
        args[3] = steps.Count;
        args[4] = _events.HistoryLength;
        args[5] = _events.HistoryTtlMs;
        args[6] = _time.GetUtcNow().ToUnixTimeMilliseconds();
        for (var i = 0; i < steps.Count; i++)
        {
            var step = steps[i];
            Debug.Assert(step.Values.Length >= arity, "Each step carries the script's arguments.");
            step.Values.AsSpan(0, arity).CopyTo(args.AsSpan(HeaderArgs + (arity * i)));
            stepArrays.Return(step.Values);
        }

        RedisResult[] results;
        try
        {
            var db = await _connection.GetDatabaseAsync(CancellationToken.None).ConfigureAwait(false);
            results = (RedisResult[])(await script.EvaluateAsync(db, _scriptKeys, args).ConfigureAwait(false))!;
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
        {
            // The client may still hold the failed call's arguments: the arrays they point into are dropped, not reused.
            throw RedisErrors.Unavailable(e);
        }

        // Answered: the call no longer reads its arguments or the steps' JSON.
        arrays.Return(args);
        foreach (var step in steps)
        {
            step.Json.Return();
        }

        return results;
    }

    /// <summary>The arguments before the steps' (see <see cref="LifecycleScripts"/>).</summary>
    private const int HeaderArgs = 7;

    /// <summary>The result code of a step that raised an error in the script.</summary>
    private const long StepError = -99;

    /// <summary>One step of a batch; <see cref="Values"/> and <see cref="Json"/> are rented, and the flush that sends them gives them back.</summary>
    private readonly record struct Step(RedisValue[] Values, RedisStepJson Json);
}
