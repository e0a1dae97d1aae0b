using MediaGen.Shared;
using Microsoft.Extensions.Logging;

namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// A message received from <see cref="RedisJobQueue"/>, identified by a lease token unique to this delivery; its job is
/// the one the receive script read with it (see <see cref="RedisJobQueue.JobRoot"/>).
/// </summary>
internal sealed class RedisQueueLease : SettleOnceLease<byte[]>
{
    private readonly RedisJobQueue _queue;
    private readonly ILogger _logger;

    public RedisQueueLease(RedisJobQueue queue, QueueMessage message, long token, int deliveryCount, DateTimeOffset enqueuedAt, DateTimeOffset lockedUntil, JobPriority priority, ILogger logger, byte[]? jobJson = null)
        : base(message, token, deliveryCount, enqueuedAt, lockedUntil, priority, jobJson)
    {
        _queue = queue;
        _logger = logger;
    }

    /// <summary>The queue this lease came from.</summary>
    internal RedisJobQueue Queue => _queue;

    protected override GenerationJob DeserializeJob(byte[] json) => RedisJobStore.Deserialize(json);

    protected override async ValueTask<(bool Held, DateTimeOffset? LockedUntil)> SettleCoreAsync(LeaseSettle operation, long milliseconds, string? reason, string? description, CancellationToken cancellationToken)
    {
        switch (operation)
        {
            case LeaseSettle.Complete:
                return (await _queue.CompleteAsync(Message.MessageId, Token, cancellationToken).ConfigureAwait(false), null);
            case LeaseSettle.Renew:
                var leaseMs = (long)Math.Ceiling(_queue.LeaseDuration.TotalMilliseconds);
                var (renewed, expiry) = await _queue.SettleAsync("renew", Message.MessageId, Token, leaseMs, null, null, cancellationToken).ConfigureAwait(false);
                return (renewed, DateTimeOffset.FromUnixTimeMilliseconds(expiry));
            default:
                var (held, _) = await _queue.SettleAsync(RedisJobLifecycleStore.Operation(operation), Message.MessageId, Token, milliseconds, reason, description, cancellationToken).ConfigureAwait(false);
                return (held, null);
        }
    }

    protected override void OnReturnFailed(QueueUnavailableException exception) => Log.ReturnOnDisposeFailed(_logger, Message.MessageId, exception);
}
