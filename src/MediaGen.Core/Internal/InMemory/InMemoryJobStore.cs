using System.Globalization;
using Microsoft.Extensions.Options;

namespace MediaGen.Internal;

/// <summary>
/// The in-memory <see cref="IJobStore"/>: a dictionary under one lock. Jobs are immutable records, so readers
/// get snapshots without copying. A finished job is removed with every index entry once
/// <see cref="InMemoryBackendOptions.FinishedJobRetention"/> has passed; each write removes a few due ones, so retention
/// needs no background task (finished jobs come due in the order they finished, so a FIFO holds them).
/// </summary>
internal sealed class InMemoryJobStore(TimeProvider timeProvider, IOptions<InMemoryBackendOptions>? options = null) : IJobStore
{
    private const int PurgeBatch = 16;
    private readonly TimeSpan? _retention = (options?.Value ?? new InMemoryBackendOptions()).FinishedJobRetention;
    private readonly Queue<(long DueTicks, string JobId)> _finished = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _jobs = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Owner, string Key), string> _idempotency = [];
    // Each owner's jobs in creation order (a list through the entries): new ones go at the end, listing walks back from it.
    private readonly Dictionary<string, IntrusiveList<Entry>> _byOwner = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _pendingByOwner = new(StringComparer.Ordinal);
    private long _sequence;

    public ValueTask<JobCreateResult> CreateAsync(GenerationJob job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        lock (_gate)
        {
            if (job.Request.IdempotencyKey is { } key && _idempotency.TryGetValue((job.OwnerId, key), out var existingId))
            {
                return ValueTask.FromResult(new JobCreateResult(_jobs[existingId].Job, Created: false));
            }

            if (_jobs.ContainsKey(job.Id))
            {
                throw new InvalidOperationException($"A job with id '{job.Id}' already exists.");
            }

            var stored = job.Version == 1 && job.UpdatedAt != default
                ? job
                : job with { Version = 1, UpdatedAt = job.UpdatedAt == default ? timeProvider.GetUtcNow() : job.UpdatedAt };
            var entry = new Entry(stored, ++_sequence);
            _jobs.Add(job.Id, entry);
            if (job.Request.IdempotencyKey is { } newKey)
            {
                _idempotency[(job.OwnerId, newKey)] = job.Id;
            }

            if (!_byOwner.TryGetValue(job.OwnerId, out var owned))
            {
                _byOwner[job.OwnerId] = owned = new IntrusiveList<Entry>();
            }

            owned.AddLast(entry);
            CountPending(null, stored);
            Retain(stored);
            Purge();
            return ValueTask.FromResult(new JobCreateResult(stored, Created: true));
        }
    }

    public ValueTask<GenerationJob?> GetAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        lock (_gate)
        {
            return ValueTask.FromResult(_jobs.TryGetValue(jobId, out var entry) ? entry.Job : null);
        }
    }

    public ValueTask<GenerationJob?> UpdateAsync(GenerationJob job, long expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        lock (_gate)
        {
            if (!_jobs.TryGetValue(job.Id, out var entry) || entry.Job.Version != expectedVersion)
            {
                return ValueTask.FromResult<GenerationJob?>(null);
            }

            var stored = job.Version == expectedVersion + 1 ? job : job with { Version = expectedVersion + 1 };
            var wasTerminal = entry.Job.Status.IsTerminal();
            CountPending(entry.Job, stored);
            entry.Job = stored;
            if (!wasTerminal)
            {
                Retain(stored);
            }

            Purge();
            return ValueTask.FromResult<GenerationJob?>(stored);
        }
    }

    public ValueTask<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit is < 1 or > JobQuery.MaxLimit)
        {
            throw new RequestValidationException("limit", $"The limit must be between 1 and {JobQuery.MaxLimit}.");
        }

        var after = query.Cursor is null ? (long?)null : ParseCursor(query.Cursor);
        var items = new List<GenerationJob>(Math.Min(query.Limit, 64));
        string? next = null;
        long lastSequence = 0;
        lock (_gate)
        {
            if (_byOwner.TryGetValue(query.OwnerId, out var owned))
            {
                // Newest first: the list is in creation (sequence) order, and the cursor is the last sequence returned.
                for (var entry = owned.Last; entry is not null; entry = entry.ListPrevious)
                {
                    if (after is { } a && entry.Sequence >= a)
                    {
                        continue;
                    }

                    if (query.Status is { } status && entry.Job.Status != status)
                    {
                        continue;
                    }

                    if (items.Count == query.Limit)
                    {
                        next = FormatCursor(lastSequence);
                        break;
                    }

                    items.Add(entry.Job);
                    lastSequence = entry.Sequence;
                }
            }
        }

        return ValueTask.FromResult(new JobPage(items, next));
    }

    public ValueTask<IReadOnlyList<GenerationJob>> ListStaleAsync(JobStatus status, DateTimeOffset updatedBefore, int maxCount, CancellationToken cancellationToken = default)
    {
        var result = new List<GenerationJob>();
        lock (_gate)
        {
            foreach (var entry in _jobs.Values)
            {
                if (result.Count >= maxCount)
                {
                    break;
                }

                if (entry.Job.Status == status && entry.Job.UpdatedAt < updatedBefore)
                {
                    result.Add(entry.Job);
                }
            }
        }

        return ValueTask.FromResult<IReadOnlyList<GenerationJob>>(result);
    }

    public ValueTask<IReadOnlyList<GenerationJob>> ListRecentAsync(JobStatus status, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 0);
        List<GenerationJob> result;
        lock (_gate)
        {
            result = [.. _jobs.Values.Select(e => e.Job).Where(j => j.Status == status)];
        }

        result.Sort(static (x, y) => y.UpdatedAt.CompareTo(x.UpdatedAt));
        return ValueTask.FromResult<IReadOnlyList<GenerationJob>>(result.Count > maxCount ? result[..maxCount] : result);
    }

    public ValueTask<bool> DeleteAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        lock (_gate)
        {
            return ValueTask.FromResult(Remove(jobId));
        }
    }

    public ValueTask<bool> DeleteFinishedAsync(string jobId, long expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        lock (_gate)
        {
            // Checked and removed under the lock: a write of a new version (a retry) lands before or after, never between.
            return ValueTask.FromResult(
                _jobs.TryGetValue(jobId, out var entry)
                && entry.Job.Version == expectedVersion
                && entry.Job.Status.IsTerminal()
                && Remove(jobId));
        }
    }

    /// <summary>How many of <paramref name="ownerId"/>'s jobs are <see cref="JobStatus.Pending"/>.</summary>
    public int PendingCount(string ownerId)
    {
        lock (_gate)
        {
            return _pendingByOwner.GetValueOrDefault(ownerId);
        }
    }

    /// <summary>How many jobs the store holds (for tests and metrics).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _jobs.Count;
            }
        }
    }

    /// <summary>Schedules a job that just finished for removal. Caller holds the lock.</summary>
    private void Retain(GenerationJob job)
    {
        if (_retention is { } retention && job.Status.IsTerminal())
        {
            _finished.Enqueue(((job.CompletedAt ?? job.UpdatedAt).UtcTicks + retention.Ticks, job.Id));
        }
    }

    /// <summary>Removes a few finished jobs whose retention has passed. Caller holds the lock.</summary>
    private void Purge()
    {
        var now = timeProvider.GetUtcNow().UtcTicks;
        for (var i = 0; i < PurgeBatch && _finished.TryPeek(out var next) && next.DueTicks <= now; i++)
        {
            _finished.Dequeue();
            // A job that ran again since it was scheduled finished later; its newer entry removes it.
            if (_jobs.TryGetValue(next.JobId, out var entry) && entry.Job.Status.IsTerminal()
                && (entry.Job.CompletedAt ?? entry.Job.UpdatedAt).UtcTicks + _retention!.Value.Ticks <= now)
            {
                Remove(next.JobId);
            }
        }
    }

    /// <summary>Keeps the per-owner pending counts as a job goes from <paramref name="before"/> to <paramref name="after"/> (null: absent). Caller holds the lock.</summary>
    private void CountPending(GenerationJob? before, GenerationJob? after)
    {
        var was = before?.Status == JobStatus.Pending;
        var @is = after?.Status == JobStatus.Pending;
        if (was == @is)
        {
            return;
        }

        var owner = (before ?? after)!.OwnerId;
        var count = _pendingByOwner.GetValueOrDefault(owner) + (@is ? 1 : -1);
        if (count == 0)
        {
            _pendingByOwner.Remove(owner);
        }
        else
        {
            _pendingByOwner[owner] = count;
        }
    }

    /// <summary>Removes a job and every index entry. Caller holds the lock.</summary>
    private bool Remove(string jobId)
    {
        if (!_jobs.Remove(jobId, out var entry))
        {
            return false;
        }

        CountPending(entry.Job, null);

        if (entry.Job.Request.IdempotencyKey is { } key)
        {
            _idempotency.Remove((entry.Job.OwnerId, key));
        }

        if (_byOwner.TryGetValue(entry.Job.OwnerId, out var owned))
        {
            owned.Remove(entry);
            if (owned.Count == 0)
            {
                _byOwner.Remove(entry.Job.OwnerId);
            }
        }

        return true;
    }

    private static string FormatCursor(long sequence) => sequence.ToString("x", CultureInfo.InvariantCulture);

    private static long ParseCursor(string cursor) =>
        long.TryParse(cursor, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new RequestValidationException("cursor", "The cursor is not one this server issued.");

    private sealed class Entry(GenerationJob job, long sequence) : IntrusiveListNode<Entry>
    {
        public GenerationJob Job { get; set; } = job;

        public long Sequence { get; } = sequence;
    }
}
