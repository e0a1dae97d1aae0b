using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace MediaGen.Core.Tests.FaultInjection;

/// <summary>
/// Wraps a backend's seams for one process of a fault-injection run: every write is an effect of the
/// <see cref="FaultPlan"/>, every read fails once the process is dead. The backend's state outlives the process.
/// </summary>
internal sealed class FaultySeams(FaultPlan plan, int generation)
{
    public FaultPlan Plan => plan;

    public int Generation => generation;

    public ValueTask<T> Effect<T>(string what, Func<ValueTask<T>> effect) => plan.EffectAsync(generation, what, effect);

    public ValueTask Effect(string what, Func<ValueTask> effect) => plan.EffectAsync(generation, what, effect);

    public T Read<T>(T value)
    {
        plan.EnsureAlive(generation);
        return value;
    }

    public async ValueTask<T> Read<T>(ValueTask<T> read)
    {
        plan.EnsureAlive(generation);
        return await read;
    }
}

internal sealed class FaultyJobStore(IJobStore inner, FaultySeams f) : IJobStore
{
    public ValueTask<JobCreateResult> CreateAsync(GenerationJob job, CancellationToken cancellationToken = default) =>
        f.Effect("store.create", () => inner.CreateAsync(job, cancellationToken));

    public ValueTask<GenerationJob?> GetAsync(string jobId, CancellationToken cancellationToken = default) => f.Read(inner.GetAsync(jobId, cancellationToken));

    public ValueTask<GenerationJob?> UpdateAsync(GenerationJob job, long expectedVersion, CancellationToken cancellationToken = default) =>
        f.Effect($"store.update {job.Status}", () => inner.UpdateAsync(job, expectedVersion, cancellationToken));

    public ValueTask<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken = default) => f.Read(inner.ListAsync(query, cancellationToken));

    public ValueTask<IReadOnlyList<GenerationJob>> ListStaleAsync(JobStatus status, DateTimeOffset updatedBefore, int maxCount, CancellationToken cancellationToken = default) =>
        f.Read(inner.ListStaleAsync(status, updatedBefore, maxCount, cancellationToken));

    public ValueTask<IReadOnlyList<GenerationJob>> ListRecentAsync(JobStatus status, int maxCount, CancellationToken cancellationToken = default) =>
        f.Read(inner.ListRecentAsync(status, maxCount, cancellationToken));

    public ValueTask<bool> DeleteAsync(string jobId, CancellationToken cancellationToken = default) =>
        f.Effect("store.delete", () => inner.DeleteAsync(jobId, cancellationToken));

    public ValueTask<bool> DeleteFinishedAsync(string jobId, long expectedVersion, CancellationToken cancellationToken = default) =>
        f.Effect("store.delete", () => inner.DeleteFinishedAsync(jobId, expectedVersion, cancellationToken));
}

internal sealed class FaultyCreditLedger(ICreditLedger inner, FaultySeams f) : ICreditLedger
{
    public ValueTask<CreditReservation> ReserveAsync(string ownerId, string jobId, long amount, CancellationToken cancellationToken = default) =>
        f.Effect("ledger.reserve", () => inner.ReserveAsync(ownerId, jobId, amount, cancellationToken));

    public ValueTask<long> RefundAsync(string ownerId, string jobId, CancellationToken cancellationToken = default) =>
        f.Effect("ledger.refund", () => inner.RefundAsync(ownerId, jobId, cancellationToken));

    public ValueTask<long> SettleAsync(string ownerId, string jobId, long refund, CancellationToken cancellationToken = default) =>
        f.Effect("ledger.settle", () => inner.SettleAsync(ownerId, jobId, refund, cancellationToken));

    public ValueTask<IReadOnlyList<OpenReservation>> ListOpenReservationsAsync(DateTimeOffset reservedBefore, int maxCount, CancellationToken cancellationToken = default) =>
        f.Read(inner.ListOpenReservationsAsync(reservedBefore, maxCount, cancellationToken));

    public ValueTask<long> GetBalanceAsync(string ownerId, CancellationToken cancellationToken = default) => f.Read(inner.GetBalanceAsync(ownerId, cancellationToken));

    public ValueTask<long> GrantAsync(string ownerId, long amount, CancellationToken cancellationToken = default) =>
        f.Effect("ledger.grant", () => inner.GrantAsync(ownerId, amount, cancellationToken));
}

internal sealed class FaultyJobQueue(IJobQueue inner, FaultySeams f) : IJobQueue
{
    public ValueTask EnqueueAsync(QueueMessage message, EnqueueOptions? options = null, CancellationToken cancellationToken = default) =>
        f.Effect("queue.enqueue", () => inner.EnqueueAsync(message, options, cancellationToken));

    public async ValueTask<IReadOnlyList<IQueueLease>> ReceiveAsync(int maxMessages, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        var leases = await f.Read(inner.ReceiveAsync(maxMessages, maxWait, cancellationToken));
        return leases.Select(l => (IQueueLease)new FaultyLease(l, f)).ToList();
    }

    public ValueTask<IReadOnlyList<DeadLetterMessage>> ListDeadLettersAsync(int maxCount = 100, CancellationToken cancellationToken = default) =>
        f.Read(inner.ListDeadLettersAsync(maxCount, cancellationToken));

    public ValueTask<bool> ResubmitDeadLetterAsync(string messageId, CancellationToken cancellationToken = default) =>
        f.Effect("queue.resubmit", () => inner.ResubmitDeadLetterAsync(messageId, cancellationToken));

    public ValueTask<bool> DeleteDeadLetterAsync(string messageId, CancellationToken cancellationToken = default) =>
        f.Effect("queue.delete-dead", () => inner.DeleteDeadLetterAsync(messageId, cancellationToken));

    public ValueTask<QueueDepth> GetDepthAsync(CancellationToken cancellationToken = default) => f.Read(inner.GetDepthAsync(cancellationToken));
}

/// <summary>A lease of a dead process is never settled: it lapses, and the queue delivers the message again.</summary>
internal sealed class FaultyLease(IQueueLease inner, FaultySeams f) : IQueueLease
{
    public IQueueLease Inner => inner;

    public QueueMessage Message => inner.Message;

    public int DeliveryCount => inner.DeliveryCount;

    public DateTimeOffset EnqueuedAt => inner.EnqueuedAt;

    public DateTimeOffset LockedUntil => inner.LockedUntil;

    public JobPriority Priority => inner.Priority;

    public ValueTask CompleteAsync(CancellationToken cancellationToken = default) => f.Effect("lease.complete", () => inner.CompleteAsync(cancellationToken));

    public ValueTask AbandonAsync(TimeSpan delay = default, CancellationToken cancellationToken = default) =>
        f.Effect("lease.abandon", () => inner.AbandonAsync(delay, cancellationToken));

    public ValueTask DeferAsync(TimeSpan delay = default, CancellationToken cancellationToken = default) =>
        f.Effect("lease.defer", () => inner.DeferAsync(delay, cancellationToken));

    public ValueTask DeadLetterAsync(string reason, string? description = null, CancellationToken cancellationToken = default) =>
        f.Effect("lease.deadletter", () => inner.DeadLetterAsync(reason, description, cancellationToken));

    public ValueTask RenewAsync(CancellationToken cancellationToken = default) => f.Effect("lease.renew", () => inner.RenewAsync(cancellationToken));

    public ValueTask DisposeAsync()
    {
        // A dead process returns nothing; a live one hands the message back as the inner lease would.
        return f.Plan.Crashed || f.Plan.Generation != f.Generation ? ValueTask.CompletedTask : inner.DisposeAsync();
    }
}

internal sealed class FaultyEventStream(IJobEventStream inner, FaultySeams f) : IJobEventStream
{
    public ValueTask PublishAsync(JobEvent jobEvent, CancellationToken cancellationToken = default) =>
        f.Effect($"events.{jobEvent.Type}", () => inner.PublishAsync(jobEvent, cancellationToken));

    public ValueTask<IAsyncEnumerator<JobEvent>> OpenSubscriptionAsync(string jobId, CancellationToken cancellationToken = default) => inner.OpenSubscriptionAsync(jobId, cancellationToken);

    public ValueTask<IReadOnlyList<JobEvent>> GetHistoryAsync(string jobId, long afterSequence, CancellationToken cancellationToken = default) =>
        inner.GetHistoryAsync(jobId, afterSequence, cancellationToken);
}

/// <summary>A backend's atomic lifecycle store: a step is one effect, applied whole or not at all.</summary>
/// <remarks>It takes status events by type when the store it wraps does (the in-memory one), as the same effects.</remarks>
internal sealed class FaultyLifecycleStore(IJobLifecycleStore inner, FaultySeams f) : IJobLifecycleStore, MediaGen.Internal.IStatusEventLifecycleStore
{
    public bool TakesStatusEvents => inner is MediaGen.Internal.IStatusEventLifecycleStore { TakesStatusEvents: true };

    public ValueTask<JobCreateResult> SubmitAsync(JobSubmission submission, CancellationToken cancellationToken = default) =>
        f.Effect("lifecycle.submit", () => inner.SubmitAsync(submission, cancellationToken));

    public ValueTask<JobCreateResult> SubmitAsync(JobSubmission submission, JobEventType statusEvent) =>
        f.Effect("lifecycle.submit", () => ((MediaGen.Internal.IStatusEventLifecycleStore)inner).SubmitAsync(submission, statusEvent));

    public ValueTask<bool> CommitAsync(JobCommit commit, CancellationToken cancellationToken = default) =>
        f.Effect(CommitEffect(commit), () => inner.CommitAsync(Unwrapped(commit), cancellationToken));

    public ValueTask<bool> CommitAsync(JobCommit commit, JobEventType statusEvent) =>
        f.Effect(CommitEffect(commit), () => ((MediaGen.Internal.IStatusEventLifecycleStore)inner).CommitAsync(Unwrapped(commit), statusEvent));

    private static string CommitEffect(JobCommit commit) => $"lifecycle.commit {commit.Job?.Status.ToString() ?? "effects"} {commit.Lease?.Action}";

    private static JobCommit Unwrapped(JobCommit commit) =>
        commit.Lease is { Lease: FaultyLease faulty } settle ? commit with { Lease = settle with { Lease = faulty.Inner } } : commit;
}

/// <summary>Output storage in memory; a save is an effect. Outlives processes, like the backend.</summary>
internal sealed class MemoryMediaStorage : IMediaStorage
{
    public ConcurrentDictionary<string, byte[]> Objects { get; } = new(StringComparer.Ordinal);

    public async ValueTask<StoredObject> SaveAsync(string key, Stream content, StorageWriteOptions options, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        await content.CopyToAsync(buffer, cancellationToken);
        Objects[key] = buffer.ToArray();
        return new StoredObject { Key = key, Size = buffer.Length, ContentType = options.ContentType };
    }

    public ValueTask<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default) =>
        Objects.TryGetValue(key, out var bytes) ? ValueTask.FromResult<Stream>(new MemoryStream(bytes)) : throw new StorageObjectNotFoundException(key);

    public ValueTask<StoredObject?> GetInfoAsync(string key, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Objects.TryGetValue(key, out var bytes) ? new StoredObject { Key = key, Size = bytes.Length, ContentType = "image/png" } : null);

    public ValueTask<bool> DeleteAsync(string key, CancellationToken cancellationToken = default) => ValueTask.FromResult(Objects.TryRemove(key, out _));

    public ValueTask<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        var keys = Objects.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        keys.ForEach(k => Objects.TryRemove(k, out _));
        return ValueTask.FromResult(keys.Count);
    }

    public ValueTask<Uri> GetReadUrlAsync(string key, TimeSpan? lifetime = null, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(new Uri("memory:///" + key));
}

internal sealed class FaultyStorage(MemoryMediaStorage inner, FaultySeams f) : IMediaStorage
{
    public ValueTask<StoredObject> SaveAsync(string key, Stream content, StorageWriteOptions options, CancellationToken cancellationToken = default) =>
        f.Effect($"storage.save {key[(key.IndexOf('/', StringComparison.Ordinal) + 1)..]}", () => inner.SaveAsync(key, content, options, cancellationToken));

    public ValueTask<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default) => f.Read(inner.OpenReadAsync(key, cancellationToken));

    public ValueTask<StoredObject?> GetInfoAsync(string key, CancellationToken cancellationToken = default) => f.Read(inner.GetInfoAsync(key, cancellationToken));

    public ValueTask<bool> DeleteAsync(string key, CancellationToken cancellationToken = default) => f.Effect("storage.delete", () => inner.DeleteAsync(key, cancellationToken));

    public ValueTask<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default) =>
        f.Effect("storage.deleteprefix", () => inner.DeletePrefixAsync(prefix, cancellationToken));

    public ValueTask<Uri> GetReadUrlAsync(string key, TimeSpan? lifetime = null, CancellationToken cancellationToken = default) =>
        f.Read(inner.GetReadUrlAsync(key, lifetime, cancellationToken));
}

/// <summary>The result cache's index; recording and forgetting an entry are effects.</summary>
internal sealed class FaultyResultCacheIndex(IResultCacheIndex inner, FaultySeams f) : IResultCacheIndex
{
    public ValueTask<string?> GetAsync(string key, CancellationToken cancellationToken = default) => f.Read(inner.GetAsync(key, cancellationToken));

    public ValueTask SetAsync(string key, string jobId, TimeSpan timeToLive, CancellationToken cancellationToken = default) =>
        f.Effect("cache.set", () => inner.SetAsync(key, jobId, timeToLive, cancellationToken));

    public ValueTask<bool> RemoveAsync(string key, string jobId, CancellationToken cancellationToken = default) =>
        f.Effect("cache.remove", () => inner.RemoveAsync(key, jobId, cancellationToken));
}
