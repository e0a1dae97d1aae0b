using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen.Internal;

/// <summary>
/// The result cache: decides which requests are cached, finds an earlier succeeded job for a request in the
/// <see cref="IResultCacheIndex"/>, copies its outputs (and thumbnails) under a new job's own keys, and records each
/// cacheable job that succeeded in full. Copies rather than references: a copy is an ordinary job's set of objects, so
/// deleting either job deletes only its own objects and the other stays readable.
/// </summary>
internal sealed class ResultCache(
    IResultCacheIndex index,
    IJobStore store,
    IMediaStorage storage,
    IOptions<ResultCacheOptions> options,
    MediaGenMetrics metrics,
    ILogger<ResultCache> logger)
{
    private readonly ResultCacheOptions _options = options.Value;

    /// <summary>What a cache hit is charged.</summary>
    public long CacheHitCredits => _options.CacheHitCredits;

    /// <summary>
    /// The request's cache key when it may be served from (and recorded in) the cache: it has a fixed seed, and its model
    /// is cached or it opted in where requests may; null otherwise. A request that opts out is never cached.
    /// </summary>
    public string? KeyFor(GenerationRequest request)
    {
        if (request.Settings?.Seed is null || request.UseResultCache == false)
        {
            return null;
        }

        var cached = request.UseResultCache == true
            ? _options.AllowRequestOptIn || IsCachedModel(request.Model)
            : IsCachedModel(request.Model);
        return cached ? ResultCacheKey.Compute(request) : null;
    }

    /// <summary>
    /// The request as stored with its job, carrying the submission's decision: <see cref="GenerationRequest.UseResultCache"/>
    /// is true exactly when the job is cached, so the worker that finishes it records it (or not) without needing the same
    /// cache options. The usual request (no opt-in, not cached) is returned as it is, with nothing allocated.
    /// </summary>
    public static GenerationRequest WithDecision(GenerationRequest request, bool cached) =>
        cached == (request.UseResultCache == true) ? request : request with { UseResultCache = cached };

    /// <summary>Removes a deleted job's entry from the index, if it is still the one recorded (best effort).</summary>
    public async ValueTask ForgetAsync(GenerationJob job)
    {
        if (job.Request.UseResultCache == true && job.Request.Settings?.Seed is not null && !job.CacheHit)
        {
            await ForgetAsync(ResultCacheKey.Compute(job.Request), job.Id).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The job recorded for <paramref name="key"/>, when it can be served: null on a miss (nothing recorded, or a recorded
    /// job that is gone or unusable, whose entry is then removed). Reads only.
    /// </summary>
    public async ValueTask<GenerationJob?> FindSourceAsync(string key, GenerationJob newJob, CancellationToken cancellationToken)
    {
        var model = new KeyValuePair<string, object?>(MediaGenTelemetry.Tags.Model, newJob.Request.Model);
        GenerationJob? source;
        string? sourceId;
        try
        {
            sourceId = await index.GetAsync(key, cancellationToken).ConfigureAwait(false);
            source = sourceId is null ? null : await store.GetAsync(sourceId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            metrics.CacheErrors.Add(1, model);
            Log.CacheLookupFailed(logger, newJob.Id, e);
            return null;
        }

        if (sourceId is null)
        {
            metrics.CacheMisses.Add(1, model);
            return null;
        }

        if (source is null || !IsServable(source, key))
        {
            // A job still running was recorded just before its success landed: pass it by, keep the entry.
            if (source is null || source.Status.IsTerminal())
            {
                await ForgetAsync(key, sourceId).ConfigureAwait(false);
            }

            metrics.CacheMisses.Add(1, model);
            return null;
        }

        return source;
    }

    /// <summary>
    /// Copies <paramref name="source"/>'s outputs under <paramref name="newJob"/>'s keys. Returns null when a copy failed
    /// (the source's objects went away, or the storage failed); the caller deletes what was copied
    /// (<see cref="DeleteCopiesAsync"/>) and generates the request as usual.
    /// </summary>
    public async ValueTask<IReadOnlyList<JobOutput>?> CopyOutputsAsync(string key, GenerationJob source, GenerationJob newJob, CancellationToken cancellationToken)
    {
        var model = new KeyValuePair<string, object?>(MediaGenTelemetry.Tags.Model, newJob.Request.Model);
        var copies = new List<JobOutput>(source.Outputs.Count);
        try
        {
            var metadata = OutputMetadata.For(newJob);
            foreach (var output in source.Outputs)
            {
                var outputKey = MediaStorageKeys.ForOutput(newJob.Id, output.Index, output.ContentType);
                var stored = await CopyAsync(output.Key, outputKey, output.ContentType, metadata, cancellationToken).ConfigureAwait(false);
                string? thumbnailKey = null;
                if (output.ThumbnailKey is { } sourceThumbnail && output.ThumbnailContentType is { } thumbnailType)
                {
                    thumbnailKey = MediaStorageKeys.ForThumbnail(newJob.Id, output.Index, thumbnailType);
                    await CopyAsync(sourceThumbnail, thumbnailKey, thumbnailType, metadata, cancellationToken).ConfigureAwait(false);
                }

                copies.Add(output with
                {
                    Key = outputKey,
                    Url = await storage.GetReadUrlAsync(outputKey, cancellationToken: cancellationToken).ConfigureAwait(false),
                    Size = stored.Size,
                    ThumbnailKey = thumbnailKey,
                    ThumbnailContentType = thumbnailKey is null ? null : output.ThumbnailContentType,
                });
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (e is StorageObjectNotFoundException)
            {
                await ForgetAsync(key, source.Id).ConfigureAwait(false);
                metrics.CacheMisses.Add(1, model);
            }
            else
            {
                metrics.CacheErrors.Add(1, model);
                Log.CacheCopyFailed(logger, newJob.Id, e);
            }

            return null;
        }

        return copies;
    }

    /// <summary>
    /// Deletes whatever was stored under the id of a job that was never created (the copies of a cache hit that did not
    /// go through). Returns false, after logging why, when the storage failed: the caller then leaves the job's reservation
    /// open, so the sweeper tries again.
    /// </summary>
    public async ValueTask<bool> DeleteCopiesAsync(string jobId)
    {
        try
        {
            await storage.DeletePrefixAsync(MediaStorageKeys.JobPrefix(jobId), CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (Exception e)
        {
            Log.CacheCopyCleanupFailed(logger, jobId, e);
            return false;
        }
    }

    /// <summary>
    /// Records a job that is about to succeed with every output it was asked for, when its submission decided it is cached
    /// (<see cref="WithDecision"/>); best
    /// effort (a failure only means the next identical request is generated). Written just before the Succeeded step, so
    /// a job is in the index by the time anyone sees it succeeded; until then readers find it unfinished and pass it by,
    /// and should the step never land, the entry names a job that failed or is gone, which the next reader removes.
    /// Cache hits and partial successes are not recorded.
    /// </summary>
    public async ValueTask RememberAsync(GenerationJob job, IReadOnlyList<JobOutput> outputs, IReadOnlyList<OutputFailure> failedOutputs)
    {
        if (job.CacheHit || job.Request.UseResultCache != true || job.Request.Settings?.Seed is null
            || failedOutputs.Count > 0 || outputs.Count == 0 || outputs.Count != job.Request.GetOutputCount())
        {
            return;
        }

        var key = ResultCacheKey.Compute(job.Request);
        try
        {
            await index.SetAsync(key, job.Id, _options.Retention, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            metrics.CacheErrors.Add(1, new KeyValuePair<string, object?>(MediaGenTelemetry.Tags.Model, job.Request.Model));
            Log.CacheRecordFailed(logger, job.Id, e);
        }
    }

    private bool IsCachedModel(string model)
    {
        foreach (var cached in _options.Models)
        {
            if (string.Equals(cached, model, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A job whose outputs may serve <paramref name="key"/>: succeeded in full, not itself a copy, for the same work.</summary>
    private static bool IsServable(GenerationJob job, string key) =>
        job.Status == JobStatus.Succeeded && !job.CacheHit && !job.DeleteRequested && job.FailedOutputs.Count == 0 && job.Outputs.Count > 0
        && string.Equals(ResultCacheKey.Compute(job.Request), key, StringComparison.Ordinal);

    private async ValueTask<StoredObject> CopyAsync(string from, string to, string contentType, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var content = await storage.OpenReadAsync(from, cancellationToken).ConfigureAwait(false);
        await using (content.ConfigureAwait(false))
        {
            return await storage.SaveAsync(to, content, new StorageWriteOptions { ContentType = contentType, Metadata = metadata }, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask ForgetAsync(string key, string jobId)
    {
        try
        {
            await index.RemoveAsync(key, jobId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log.CacheRecordFailed(logger, jobId, e);
        }
    }
}
