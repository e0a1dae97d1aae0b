using MediaGen.Shared;

namespace MediaGen.PostgreSql.Internal;

/// <summary>
/// A message received from <see cref="PostgresJobQueue"/>, identified by a lease token unique to this delivery; its job
/// is the one the receive statement read with it (see <see cref="PostgresJobQueue.ReadsJobs"/>).
/// </summary>
internal sealed class PostgresQueueLease : SettleOnceLease<string>
{
    private readonly PostgresJobQueue _queue;

    public PostgresQueueLease(PostgresJobQueue queue, QueueMessage message, long token, int deliveryCount, DateTimeOffset enqueuedAt, DateTimeOffset lockedUntil, JobPriority priority, string? jobJson = null)
        : base(message, token, deliveryCount, enqueuedAt, lockedUntil, priority, jobJson)
    {
        _queue = queue;
    }

    /// <summary>The queue this lease came from.</summary>
    internal PostgresJobQueue Queue => _queue;

    protected override GenerationJob DeserializeJob(string json) => PostgresJsonContext.DeserializeJob(json);

    protected override async ValueTask<(bool Held, DateTimeOffset? LockedUntil)> SettleCoreAsync(LeaseSettle operation, long milliseconds, string? reason, string? description, CancellationToken cancellationToken)
    {
        if (operation == LeaseSettle.Renew)
        {
            var leaseMs = (long)Math.Ceiling(_queue.LeaseDuration.TotalMilliseconds);
            var now = _queue.Database.TimeProvider.GetUtcNow();
            return (await _queue.SettleAsync(LeaseOperation.Renew, Message.MessageId, Token, leaseMs, null, null, cancellationToken).ConfigureAwait(false), now.AddMilliseconds(leaseMs));
        }

        var settle = operation switch
        {
            LeaseSettle.Complete => LeaseOperation.Complete,
            LeaseSettle.Abandon => LeaseOperation.Abandon,
            LeaseSettle.Defer => LeaseOperation.Defer,
            _ => LeaseOperation.DeadLetter,
        };
        return (await _queue.SettleAsync(settle, Message.MessageId, Token, milliseconds, reason, description, cancellationToken).ConfigureAwait(false), null);
    }

    protected override void OnReturnFailed(QueueUnavailableException exception) => Log.ReturnOnDisposeFailed(_queue.Logger, Message.MessageId, exception);
}
