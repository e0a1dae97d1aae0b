using System.Text.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// Workers' heartbeats on Redis: one hash (<see cref="RedisKeys.Workers"/>) whose fields are worker ids and whose values
/// are their last heartbeats as JSON, shared by every process on the key prefix. A listing drops the heartbeats that
/// have expired, so a worker that died leaves nothing behind once someone looks.
/// </summary>
internal sealed class RedisWorkerRegistry(RedisConnection connection, IOptions<RedisQueueOptions> options) : IWorkerRegistry
{
    private readonly RedisKeys _keys = new(options.Value.KeyPrefix, options.Value.QueueName);

    public async ValueTask HeartbeatAsync(WorkerHeartbeat heartbeat, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(heartbeat);
        var json = JsonSerializer.Serialize(heartbeat, RedisJsonContext.Default.WorkerHeartbeat);
        await RunAsync(db => db.HashSetAsync(_keys.Workers, heartbeat.WorkerId, json), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask RemoveAsync(string workerId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(workerId);
        await RunAsync(db => db.HashDeleteAsync(_keys.Workers, workerId), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<WorkerHeartbeat>> ListAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var entries = await RunAsync(db => db.HashGetAllAsync(_keys.Workers), cancellationToken).ConfigureAwait(false);
        var live = new List<WorkerHeartbeat>(entries.Length);
        var expired = new List<RedisValue>();
        foreach (var entry in entries)
        {
            var heartbeat = JsonSerializer.Deserialize((string)entry.Value!, RedisJsonContext.Default.WorkerHeartbeat);
            if (heartbeat is not null && heartbeat.ExpiresAt > now)
            {
                live.Add(heartbeat);
            }
            else
            {
                expired.Add(entry.Name);
            }
        }

        if (expired.Count > 0)
        {
            await RunAsync(db => db.HashDeleteAsync(_keys.Workers, [.. expired]), cancellationToken).ConfigureAwait(false);
        }

        live.Sort((x, y) => string.CompareOrdinal(x.WorkerId, y.WorkerId));
        return live;
    }

    private async Task<T> RunAsync<T>(Func<IDatabase, Task<T>> command, CancellationToken cancellationToken)
    {
        var db = await connection.GetDatabaseAsync(cancellationToken).ConfigureAwait(false);
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
