using System.Globalization;

namespace Acme.DictionaryStore;

/// <summary>
/// A job store in two dictionaries behind one lock: jobs by id, and job ids by (owner, idempotency key). Pages are listed
/// newest first by (created, id), and the cursor is the last listed job's position in that order, so jobs written or
/// deleted between pages move no other job across a page boundary.
/// </summary>
public sealed class DictionaryJobStore : IJobStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, GenerationJob> _jobs = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Owner, string Key), string> _idempotencyKeys = [];

    public ValueTask<JobCreateResult> CreateAsync(GenerationJob job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        lock (_gate)
        {
            if (job.Request.IdempotencyKey is { } key && _idempotencyKeys.TryGetValue((job.OwnerId, key), out var existingId))
            {
                return ValueTask.FromResult(new JobCreateResult(_jobs[existingId], Created: false));
            }

            var created = job with { Version = 1 };
            _jobs.Add(created.Id, created);
            if (job.Request.IdempotencyKey is { } newKey)
            {
                _idempotencyKeys[(job.OwnerId, newKey)] = created.Id;
            }

            return ValueTask.FromResult(new JobCreateResult(created, Created: true));
        }
    }

    public ValueTask<GenerationJob?> GetAsync(string jobId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_jobs.GetValueOrDefault(jobId));
        }
    }

    public ValueTask<GenerationJob?> UpdateAsync(GenerationJob job, long expectedVersion, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        lock (_gate)
        {
            if (!_jobs.TryGetValue(job.Id, out var current) || current.Version != expectedVersion)
            {
                return ValueTask.FromResult<GenerationJob?>(null);
            }

            var updated = job with { Version = expectedVersion + 1 };
            _jobs[job.Id] = updated;
            return ValueTask.FromResult<GenerationJob?>(updated);
        }
    }

    public ValueTask<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Limit is < 1 or > JobQuery.MaxLimit)
        {
            throw new RequestValidationException("limit", $"The limit must be between 1 and {JobQuery.MaxLimit}.");
        }

        var after = query.Cursor is null ? ((long Ticks, string Id)?)null : ParseCursor(query.Cursor);
        lock (_gate)
        {
            var page = _jobs.Values
                .Where(j => j.OwnerId == query.OwnerId && (query.Status is null || j.Status == query.Status))
                .Where(j => after is not { } a || Compare(j, a) < 0)
                .OrderByDescending(j => j.CreatedAt.UtcTicks)
                .ThenByDescending(j => j.Id, StringComparer.Ordinal)
                .Take(query.Limit + 1)
                .ToList();
            if (page.Count <= query.Limit)
            {
                return ValueTask.FromResult(new JobPage(page, NextCursor: null));
            }

            page.RemoveAt(page.Count - 1);
            var last = page[^1];
            return ValueTask.FromResult(new JobPage(page, string.Create(CultureInfo.InvariantCulture, $"{last.CreatedAt.UtcTicks}.{last.Id}")));
        }
    }

    public ValueTask<IReadOnlyList<GenerationJob>> ListStaleAsync(JobStatus status, DateTimeOffset updatedBefore, int maxCount, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            IReadOnlyList<GenerationJob> stale = [.. _jobs.Values.Where(j => j.Status == status && j.UpdatedAt < updatedBefore).OrderBy(j => j.UpdatedAt).Take(maxCount)];
            return ValueTask.FromResult(stale);
        }
    }

    public ValueTask<IReadOnlyList<GenerationJob>> ListRecentAsync(JobStatus status, int maxCount, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            IReadOnlyList<GenerationJob> recent = [.. _jobs.Values.Where(j => j.Status == status).OrderByDescending(j => j.UpdatedAt).Take(maxCount)];
            return ValueTask.FromResult(recent);
        }
    }

    public ValueTask<bool> DeleteAsync(string jobId, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!_jobs.Remove(jobId, out var job))
            {
                return ValueTask.FromResult(false);
            }

            if (job.Request.IdempotencyKey is { } key)
            {
                _idempotencyKeys.Remove((job.OwnerId, key));
            }

            return ValueTask.FromResult(true);
        }
    }

    private static int Compare(GenerationJob job, (long Ticks, string Id) position)
    {
        var byTime = job.CreatedAt.UtcTicks.CompareTo(position.Ticks);
        return byTime != 0 ? byTime : string.CompareOrdinal(job.Id, position.Id);
    }

    private static (long Ticks, string Id) ParseCursor(string cursor)
    {
        var dot = cursor.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && long.TryParse(cursor.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) && dot < cursor.Length - 1
            ? (ticks, cursor[(dot + 1)..])
            : throw new RequestValidationException("cursor", "The cursor is not one this store returned.");
    }
}
