using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// The job store on Redis (see <see cref="StoreScripts"/>): idempotency keys unique per owner, version-checked
/// updates, newest-first cursor listing per owner and status, and removal of finished jobs after
/// <see cref="RedisQueueOptions.FinishedJobRetention"/>.
/// </summary>
internal sealed class RedisJobStore : IJobStore
{
    private readonly RedisConnection _connection;
    private readonly TimeProvider _timeProvider;
    private readonly RedisKeys _keys;
    private readonly string _root;
    private readonly long _retentionMs;
    private readonly RedisCommandBatcher<string, RedisResult> _reads;

    /// <summary>The most job reads one script call carries.</summary>
    private const int MaxReadBatch = 256;

    public RedisJobStore(RedisConnection connection, IOptions<RedisQueueOptions> options, TimeProvider timeProvider)
    {
        _connection = connection;
        _timeProvider = timeProvider;
        _keys = new RedisKeys(options.Value.KeyPrefix, options.Value.QueueName);
        _root = _keys.Root;
        _retentionMs = options.Value.FinishedJobRetention is { } retention ? (long)retention.TotalMilliseconds : -1;
        _reads = new RedisCommandBatcher<string, RedisResult>(FlushReadsAsync, MaxReadBatch);
    }

    internal RedisConnection Connection => _connection;

    public async ValueTask<JobCreateResult> CreateAsync(GenerationJob job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var now = _timeProvider.GetUtcNow();
        var stored = job with { Version = 1, UpdatedAt = job.UpdatedAt == default ? now : job.UpdatedAt };
        var result = (RedisResult[])(await RunAsync(
            StoreScripts.Create,
            [
                job.Id, job.OwnerId, job.Request.IdempotencyKey ?? string.Empty, Serialize(stored), (int)stored.Status,
                stored.UpdatedAt.ToUnixTimeMilliseconds(), now.ToUnixTimeMilliseconds(), _retentionMs, RedisKeys.ReservationMember(job.OwnerId, job.Id),
            ],
            cancellationToken).ConfigureAwait(false))!;
        return (long)result[0] switch
        {
            1 => new JobCreateResult(stored, Created: true),
            0 => new JobCreateResult(Deserialize((byte[])result[1]!), Created: false),
            _ => throw new InvalidOperationException($"A job with id '{job.Id}' already exists."),
        };
    }

    public async ValueTask<GenerationJob?> GetAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobId);

        // Reads taken while one is in flight go out together (a busy worker reads a job per delivery).
        var value = await _reads.RunAsync(jobId, cancellationToken).ConfigureAwait(false);
        return value.IsNull ? null : Deserialize((byte[])value!);
    }

    private async Task<RedisResult[]> FlushReadsAsync(IReadOnlyList<string> jobIds)
    {
        var values = new RedisValue[jobIds.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = jobIds[i];
        }

        return (RedisResult[])(await RunAsync(StoreScripts.GetMany, values, CancellationToken.None).ConfigureAwait(false))!;
    }

    public async ValueTask<GenerationJob?> UpdateAsync(GenerationJob job, long expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var stored = job with { Version = expectedVersion + 1 };
        var result = await RunAsync(
            StoreScripts.Update,
            [
                job.Id, expectedVersion, Serialize(stored), (int)stored.Status, stored.UpdatedAt.ToUnixTimeMilliseconds(),
                _timeProvider.GetUtcNow().ToUnixTimeMilliseconds(), _retentionMs,
            ],
            cancellationToken).ConfigureAwait(false);
        return (long)result == 1 ? stored : null;
    }

    public async ValueTask<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit is < 1 or > JobQuery.MaxLimit)
        {
            throw new RequestValidationException("limit", $"The limit must be between 1 and {JobQuery.MaxLimit}.");
        }

        var cursor = query.Cursor is null ? string.Empty : ParseCursor(query.Cursor).ToString(CultureInfo.InvariantCulture);
        var result = (RedisResult[])(await RunAsync(
            StoreScripts.List,
            [query.OwnerId, query.Status is { } s ? (int)s : string.Empty, cursor, query.Limit + 1],
            cancellationToken).ConfigureAwait(false))!;
        var items = new List<GenerationJob>(Math.Min(query.Limit, result.Length / 2));
        string? next = null;
        for (var i = 0; i + 1 < result.Length; i += 2)
        {
            if (items.Count == query.Limit)
            {
                next = ((long)result[i - 2]).ToString("x", CultureInfo.InvariantCulture);
                break;
            }

            items.Add(Deserialize((byte[])result[i + 1]!));
        }

        return new JobPage(items, next);
    }

    public async ValueTask<IReadOnlyList<GenerationJob>> ListStaleAsync(JobStatus status, DateTimeOffset updatedBefore, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 0);
        if (maxCount == 0)
        {
            return [];
        }

        var result = (RedisResult[])(await RunAsync(
            StoreScripts.ListStale,
            [(int)status, updatedBefore.ToUnixTimeMilliseconds(), maxCount],
            cancellationToken).ConfigureAwait(false))!;
        var jobs = new List<GenerationJob>(result.Length);
        foreach (var item in result)
        {
            jobs.Add(Deserialize((byte[])item!));
        }

        return jobs;
    }

    public async ValueTask<IReadOnlyList<GenerationJob>> ListRecentAsync(JobStatus status, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 0);
        if (maxCount == 0)
        {
            return [];
        }

        var result = (RedisResult[])(await RunAsync(StoreScripts.ListRecent, [(int)status, maxCount], cancellationToken).ConfigureAwait(false))!;
        return [.. result.Select(item => Deserialize((byte[])item!))];
    }

    public async ValueTask<bool> DeleteAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        var result = await RunAsync(StoreScripts.Delete, [jobId], cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    public async ValueTask<bool> DeleteFinishedAsync(string jobId, long expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        var result = await RunAsync(StoreScripts.DeleteFinished, [jobId, expectedVersion], cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    internal static byte[] Serialize(GenerationJob job) => JsonSerializer.SerializeToUtf8Bytes(job, RedisJsonContext.Default.GenerationJob);

    internal static GenerationJob Deserialize(byte[] json) =>
        JsonSerializer.Deserialize(json, RedisJsonContext.Default.GenerationJob)
        ?? throw new InvalidOperationException("The job store holds an empty job record.");

    private static long ParseCursor(string cursor) =>
        long.TryParse(cursor, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new RequestValidationException("cursor", "The cursor is not one this server issued.");

    /// <summary>Runs a store script: the queue's keys (which also route it to the shard of the hash tag), then ARGV 1-3 and <paramref name="values"/>.</summary>
    private async ValueTask<RedisResult> RunAsync(string script, RedisValue[] values, CancellationToken cancellationToken)
    {
        var args = new RedisValue[3 + values.Length];
        args[0] = _keys.MessagePrefix;
        args[1] = _keys.WakeChannel;
        args[2] = _root;
        values.CopyTo(args, 3);
        var db = await _connection.GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await db.ScriptEvaluateAsync(script, _keys.QueueScriptKeys, args).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (RedisErrors.IsUnavailable(e))
        {
            throw RedisErrors.Unavailable(e);
        }
    }
}
