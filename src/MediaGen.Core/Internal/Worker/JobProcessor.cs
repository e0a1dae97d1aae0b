using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace MediaGen.Internal;

/// <summary>
/// Runs one delivery of one job: decides whether it should run at all (finished, run by a live lease elsewhere,
/// canceled, past its deadline, delivered too often), starts an attempt that the delivery owns through its lease, runs
/// it under lease renewal with a Polly timeout, stores the outputs under deterministic keys, and ends the attempt by its
/// outcome. Every transition goes through <see cref="JobLifecycle"/>. Every effect is keyed so a redelivery repeats
/// nothing: a finished job's message is dropped after its settlement is applied again, outputs overwrite, credits are
/// reserved and settled once per job id, and the generator resumes its provider work from the checkpoint.
/// </summary>
internal sealed partial class JobProcessor : IDisposable
{
    private static readonly TimeSpan StoreUnavailableRetryDelay = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan DuplicateRecheckMargin = TimeSpan.FromSeconds(1);

    private readonly IJobStore _store;
    private readonly IMediaStorage _storage;
    private readonly GeneratorCatalog _catalog;
    private readonly JobLifecycle _lifecycle;
    private readonly WorkerIdentity _identity;
    private readonly JobCancellationRegistry _running;
    private readonly ProviderRateGate _rateGate;
    private readonly MediaGenMetrics _metrics;
    private readonly MediaGenerationOptions _options;
    private readonly MediaGenerationWorkerOptions _workerOptions;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _storagePipeline;
    private readonly IImageThumbnailer? _thumbnailer;
    private readonly AttemptClock _clock;
    private readonly ObjectPool<CancellationTokenSource> _cancellationSources;

    public JobProcessor(
        IJobStore store,
        IMediaStorage storage,
        GeneratorCatalog catalog,
        JobLifecycle lifecycle,
        WorkerIdentity identity,
        JobCancellationRegistry running,
        ProviderRateGate rateGate,
        MediaGenMetrics metrics,
        IOptions<MediaGenerationOptions> options,
        IOptions<MediaGenerationWorkerOptions> workerOptions,
        TimeProvider timeProvider,
        ILogger<JobProcessor> logger,
        IEnumerable<IImageThumbnailer> thumbnailers)
    {
        _thumbnailer = thumbnailers.LastOrDefault();
        _store = store;
        _storage = storage;
        _catalog = catalog;
        _lifecycle = lifecycle;
        _identity = identity;
        _running = running;
        _rateGate = rateGate;
        _metrics = metrics;
        _options = options.Value;
        _workerOptions = workerOptions.Value;
        _time = timeProvider;
        _logger = logger;
        _clock = new AttemptClock(timeProvider);

        // Two sources per attempt, reused when the attempt ended without a cancel (as Kestrel reuses a request's): enough
        // kept for every attempt that can run at once to end together.
        _cancellationSources = new DefaultObjectPool<CancellationTokenSource>(new CancellationSourcePolicy(), Math.Max(16, 2 * _workerOptions.Concurrency));

        // Storing an output is repeatable (same key, and the output can be opened again), so brief storage faults are
        // retried in place instead of failing the whole attempt.
        _storagePipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = 3,
                Delay = TimeSpan.FromMilliseconds(200),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder().Handle<StorageUnavailableException>().Handle<IOException>().Handle<HttpRequestException>(),
            })
            .Build();
    }

    public void Dispose() => _clock.Dispose();

    /// <summary>Processes one delivery. Never throws except for cancellation by <paramref name="shutdown"/> before any work.</summary>
    public Task ProcessAsync(IQueueLease lease, CancellationToken shutdown)
    {
        // Where reading, deciding and starting complete synchronously (in memory), the attempt's run is the one async state
        // machine a job keeps while its generator works: it is returned, not awaited from a method around it. Where the
        // queue read the job with the message (one backend), that read serves; else the store is asked.
        GenerationJob? job;
        if (lease is IJobCarryingLease { Job: { } received })
        {
            job = received;
        }
        else
        {
            ValueTask<GenerationJob?> reading;
            try
            {
                reading = _store.GetAsync(lease.Message.JobId, shutdown);
            }
            catch (Exception e)
            {
                return SettleAfterFaultAsync(lease, e, shutdown);
            }

            if (!reading.IsCompletedSuccessfully)
            {
                return ReadThenProcessAsync(lease, reading, shutdown);
            }

            job = reading.Result;
            if (job is null)
            {
                return DeadLetterOrphanAsync(lease, MediaGenErrorCodes.JobNotFound, $"No job '{lease.Message.JobId}' exists for this message.");
            }
        }

        var starting = StartAttemptAsync(lease, job, shutdown);
        if (starting.IsCompletedSuccessfully)
        {
            return starting.Result is { } start ? RunAttemptAsync(lease, start.Job, start.Holder, start.Generator, start.Model, shutdown) : Task.CompletedTask;
        }

        return StartThenRunAsync(lease, starting, shutdown);
    }

    /// <summary>Awaits a read of the job that did not complete at once, then starts and runs the attempt.</summary>
    private async Task ReadThenProcessAsync(IQueueLease lease, ValueTask<GenerationJob?> reading, CancellationToken shutdown)
    {
        var jobId = lease.Message.JobId;
        ValueTask<AttemptStart?> starting;
        try
        {
            if (await reading.ConfigureAwait(false) is not { } job)
            {
                await DeadLetterOrphanAsync(lease, MediaGenErrorCodes.JobNotFound, $"No job '{jobId}' exists for this message.").ConfigureAwait(false);
                return;
            }

            starting = StartAttemptAsync(lease, job, shutdown);
        }
        catch (Exception e)
        {
            await SettleAfterFaultAsync(lease, e, shutdown).ConfigureAwait(false);
            return;
        }

        await StartThenRunAsync(lease, starting, shutdown).ConfigureAwait(false);
    }

    /// <summary>Awaits a start that did not complete at once, then runs the attempt.</summary>
    private async Task StartThenRunAsync(IQueueLease lease, ValueTask<AttemptStart?> starting, CancellationToken shutdown)
    {
        AttemptStart? start;
        try
        {
            start = await starting.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await SettleAfterFaultAsync(lease, e, shutdown).ConfigureAwait(false);
            return;
        }

        if (start is { } run)
        {
            await RunAttemptAsync(lease, run.Job, run.Holder, run.Generator, run.Model, shutdown).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The job store or queue failed outside an attempt's own handling (or shutdown canceled it): the message goes back,
    /// at once on shutdown, after a delay on a fault. The one broad catch of a delivery.
    /// </summary>
    private Task SettleAfterFaultAsync(IQueueLease lease, Exception e, CancellationToken shutdown)
    {
        var jobId = lease.Message.JobId;
        if (e is OperationCanceledException && shutdown.IsCancellationRequested)
        {
            // Given back on shutdown, not failed: the delivery does not count.
            return SettleAsync(jobId, lease.DeferAsync(TimeSpan.Zero, CancellationToken.None));
        }

        Log.ProcessingCrashed(_logger, jobId, e);
        return SettleAsync(jobId, lease.AbandonAsync(StoreUnavailableRetryDelay, CancellationToken.None));
    }

    /// <summary>
    /// Decides what the delivery does with the job: settles it when the job should not run now, or starts an attempt the
    /// delivery owns and returns it to be run.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<AttemptStart?> StartAttemptAsync(IQueueLease lease, GenerationJob job, CancellationToken shutdown)
    {
        if (job.Status.IsTerminal())
        {
            // The job the receive carried can be older than the message it came with (a retry committed while the receive
            // ran): a message of another run than the finished one may be the new run's only message. Dropping writes no
            // job, so nothing would check the version: decide again with what is stored.
            if (lease is IJobCarryingLease && !string.Equals(lease.Message.MessageId, job.RunId, StringComparison.Ordinal)
                && await _store.GetAsync(job.Id, shutdown).ConfigureAwait(false) is { } stored && stored.Version != job.Version)
            {
                return await StartAttemptAsync(lease, stored, shutdown).ConfigureAwait(false);
            }

            Log.FinishedJobRedelivered(_logger, job.Id, job.Status);
            await _lifecycle.DropAsync(job, lease).ConfigureAwait(false);
            return null;
        }

        var now = _time.GetUtcNow();
        if (JobLifecycle.IsLeaseAlive(job, now))
        {
            // The run's lease on the job is still alive: starting again would pay the provider twice. But this delivery may
            // be the job's only message, redelivered because the holder died: the broker's clock can expire a lock a moment
            // before the lease written from it lapses on ours. Dropping it would strand the job, so hand it back until the
            // lease would have lapsed: then it takes the run over, or finds the job finished and is dropped.
            var wait = job.LeaseExpiresAt!.Value - now + DuplicateRecheckMargin;
            Log.DuplicateDelivery(_logger, job.Id, wait);
            await _lifecycle.DeferAsync(job, lease, wait).ConfigureAwait(false);
            return null;
        }

        if (!_catalog.TryGet(job.Request.Model, out var generator, out var model))
        {
            var error = new JobError(MediaGenErrorCodes.GeneratorPermanent, $"No generator serves model '{job.Request.Model}' in this worker.", Retryable: false);
            await _lifecycle.FailAsync(job, error, refund: true, lease, deadLetter: true, requireHolder: null, exception: null).ConfigureAwait(false);
            return null;
        }

        if (job.CancelRequested)
        {
            await _lifecycle.CancelAsync(job, lease).ConfigureAwait(false);
            return null;
        }

        if (job.Deadline is { } deadline && now >= deadline)
        {
            await _lifecycle.FailAsync(job, DeadlineError(job.Error), refund: true, lease, deadLetter: true, requireHolder: null, exception: null).ConfigureAwait(false);
            return null;
        }

        if (lease.DeliveryCount > _workerOptions.MaxDeliveryCount || job.Attempt >= _options.MaxAttempts)
        {
            var error = new JobError(MediaGenErrorCodes.AttemptsExhausted,
                $"The job was attempted {job.Attempt} time(s) over {lease.DeliveryCount} deliveries without finishing." + LastError(job.Error), Retryable: false);
            await _lifecycle.FailAsync(job, error, refund: true, lease, deadLetter: true, requireHolder: null, exception: null).ConfigureAwait(false);
            return null;
        }

        if (await _rateGate.GetRecentPauseAsync(generator.Name, shutdown).ConfigureAwait(false) is { } pausedUntil
            && pausedUntil - _time.GetUtcNow() is var pause && pause > TimeSpan.Zero)
        {
            // The provider asked everyone, in every process, to slow down: hand the message back for the pause instead of
            // holding a slot.
            await _lifecycle.DeferAsync(job, lease, pause).ConfigureAwait(false);
            return null;
        }

        var holder = _identity.NewHolder();
        var started = await _lifecycle.StartAsync(job, lease, holder, shutdown).ConfigureAwait(false);
        if (!started.Written)
        {
            // Canceled, finished or taken by another delivery while we looked: decide again with what is stored.
            return await StartAttemptAsync(lease, started.Job, shutdown).ConfigureAwait(false);
        }

        return new AttemptStart(started.Job, holder, generator, model);
    }

    /// <summary>Runs an attempt this delivery started, and ends it by its outcome.</summary>
    private async Task RunAttemptAsync(IQueueLease lease, GenerationJob job, string holder, IMediaGenerator generator, ModelDescriptor model, CancellationToken shutdown)
    {
        try
        {
            var modelTag = new KeyValuePair<string, object?>(MediaGenTelemetry.Tags.Model, model.Id);
            using var activity = _metrics.ActivitySource.StartActivity(MediaGenTelemetry.Spans.Process, ActivityKind.Consumer, TraceContext.Extract(lease.Message));
            activity?.SetTag(MediaGenTelemetry.Tags.JobId, job.Id);
            activity?.SetTag(MediaGenTelemetry.Tags.Model, model.Id);
            activity?.SetTag(MediaGenTelemetry.Tags.Attempt, job.Attempt);

            var now = _time.GetUtcNow();
            if (job.Attempt == 1)
            {
                _metrics.QueueWait.Record((now - lease.EnqueuedAt).TotalSeconds, modelTag);
            }

            Log.AttemptStarted(_logger, job.Id, job.Attempt, generator.Name);

            // The processor's one clock serves every attempt's lease renewal and deadline, which signals JobAborted. Cancel sites
            // (owner cancel, deadline, shutdown, lost lease) cancel the attempt's sources directly: no linked sources per job.
            var renewal = _workerOptions.LeaseRenewalInterval ?? RenewalInterval(lease, now);
            using var attempt = new AttemptState(this, lease, job, holder, renewal);
            var jobAborted = attempt.JobAborted;
            var attemptCancel = attempt.AttemptCanceled;
            _running.Register(job.RunId, attempt);
            if (shutdown.IsCancellationRequested)
            {
                attempt.StopForShutdown();
            }

            // The attempt timeout is one more due time on the attempt's clock entry, not a timeout pipeline per attempt: that
            // cost an async state machine per layer, a pooled source and a registration on the attempt's token each time.
            attempt.Start(now, _workerOptions.AttemptTimeout);
            var generationStarted = _time.GetTimestamp();
            try
            {
                var context = new GenerationContext(job, model, attempt, attempt, jobAborted);
                var result = WithMissingOutputsFailed(await generator.GenerateAsync(context, attemptCancel).ConfigureAwait(false), job, generator.Name);
                attempt.EndGeneration();
                _metrics.GenerationDuration.Record(_time.GetElapsedTime(generationStarted).TotalSeconds, modelTag);
                if (result.FailedOutputs.Count > 0)
                {
                    foreach (var failure in result.FailedOutputs)
                    {
                        Log.OutputFailed(_logger, job.Id, failure.Index, failure.Code, failure.Message);
                    }

                    if (result.Outputs.Count == 0)
                    {
                        // Nothing to deliver: the job fails like any permanent error, refunded in full.
                        throw EveryOutputFailed(result.FailedOutputs);
                    }
                }

                var (outputs, lastOutputEvent) = result.Outputs.Count == 0 ? ([], null) : await StoreOutputsAsync(attempt, result, attemptCancel).ConfigureAwait(false);
                attempt.Stop();
                await _lifecycle.SucceedAsync(attempt.Job, holder, lease, outputs, result.FailedOutputs, lastOutputEvent).ConfigureAwait(false);
            }
            catch (Exception e) when (attempt.IsJobAborted && e is OperationCanceledException or TimeoutRejectedException or GenerationException)
            {
                attempt.Stop();
                var current = await ReloadAsync(attempt.Job).ConfigureAwait(false);
                if (current.Deadline is { } d && _time.GetUtcNow() >= d && !current.CancelRequested)
                {
                    var deadline = DeadlineError(current.Error);
                    SpanFailure.Record(activity, deadline.Code, deadline.Message, exception: null);
                    await _lifecycle.FailAsync(current, deadline, refund: true, lease, deadLetter: true, requireHolder: holder, exception: null).ConfigureAwait(false);
                }
                else
                {
                    await _lifecycle.CancelAsync(current, lease).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (attempt.LeaseLost)
            {
                // Another worker may hold the message now; it resumes from the checkpoint. Touch neither the job nor the lease.
                SpanFailure.Record(activity, MediaGenErrorCodes.LeaseLost, "The attempt lost its lease and was abandoned.", exception: null);
                Log.LeaseLost(_logger, job.Id);
            }
            catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
            {
                attempt.Stop();
                await ReturnOnShutdownAsync(attempt, lease).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TimeoutRejectedException || (e is OperationCanceledException && attempt.TimedOut))
            {
                attempt.Stop();
                var error = new JobError(MediaGenErrorCodes.AttemptTimedOut, $"The attempt took longer than {_workerOptions.AttemptTimeout}.", Retryable: true);
                var timedOut = e as TimeoutRejectedException ?? new TimeoutRejectedException(error.Message, _workerOptions.AttemptTimeout, e);
                SpanFailure.Record(activity, error.Code, error.Message, timedOut);
                await HandleFailureAsync(attempt, generator, error, timedOut, retryAfter: null, rateLimited: false, refundable: true).ConfigureAwait(false);
            }
            catch (GenerationException e)
            {
                attempt.Stop();
                var error = new JobError(e.ErrorCode, e.Message, e.IsTransient);
                SpanFailure.Record(activity, error.Code, error.Message, e);
                await HandleFailureAsync(attempt, generator, error, e, e.RetryAfter, e.IsRateLimited, e.IsRefundable).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !attemptCancel.IsCancellationRequested)
            {
                // The worker's one broad catch for an attempt: an unexpected fault is an outcome, retried like a transient error.
                attempt.Stop();
                var code = e is StorageUnavailableException ? MediaGenErrorCodes.StorageUnavailable : MediaGenErrorCodes.InternalError;
                var error = new JobError(code, e.Message, Retryable: true);
                SpanFailure.Record(activity, error.Code, error.Message, e);
                await HandleFailureAsync(attempt, generator, error, e, retryAfter: null, rateLimited: false, refundable: true).ConfigureAwait(false);
            }
            finally
            {
                _running.Unregister(job.RunId, attempt);
                attempt.Stop();
            }
        }
        catch (Exception e)
        {
            // Ending the attempt failed (the store or queue is down): the message comes back later.
            await SettleAfterFaultAsync(lease, e, shutdown).ConfigureAwait(false);
        }
    }

    /// <summary>Stores the outputs; returns them with the last one's event, which rides with the Succeeded step.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(IReadOnlyList<JobOutput> Outputs, JobEvent? LastOutputEvent)> StoreOutputsAsync(AttemptState attempt, GenerationResult result, CancellationToken cancellationToken)
    {
        var job = attempt.Job;
        var metadata = OutputMetadata.For(job);
        // A failed output leaves a gap: the others keep their index, so their keys are the same on every attempt.
        var indexes = result.FailedOutputs.Count == 0 ? null : result.GetOutputIndexes();
        var outputs = new JobOutput[result.Outputs.Count];
        JobEvent? lastOutputEvent = null;
        for (var i = 0; i < outputs.Length; i++)
        {
            var output = result.Outputs[i];
            var index = indexes is null ? i : indexes[i];
            var key = MediaStorageKeys.ForOutput(job.Id, index, output.ContentType);
            var writeOptions = new StorageWriteOptions { ContentType = output.ContentType, Metadata = metadata };
            var stored = await _storagePipeline.ExecuteAsync(
                static async (state, ct) =>
                {
                    var content = await state.Output.OpenReadAsync(ct).ConfigureAwait(false);
                    await using (content.ConfigureAwait(false))
                    {
                        return await state.Storage.SaveAsync(state.Key, content, state.Options, ct).ConfigureAwait(false);
                    }
                },
                (Output: output, Storage: _storage, Key: key, Options: writeOptions),
                cancellationToken).ConfigureAwait(false);
            var url = await _storage.GetReadUrlAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            outputs[i] = new JobOutput
            {
                Index = index,
                Key = key,
                Url = url,
                ContentType = output.ContentType,
                Size = stored.Size,
                Width = output.Width,
                Height = output.Height,
            };
            if (_thumbnailer is not null)
            {
                outputs[i] = await ThumbnailAsync(_thumbnailer, job, outputs[i], writeOptions.Metadata, cancellationToken).ConfigureAwait(false);
            }

            lastOutputEvent = await _lifecycle.OutputStoredAsync(job, outputs[i], last: i == outputs.Length - 1).ConfigureAwait(false);
        }

        return (outputs, lastOutputEvent);
    }

    /// <summary>
    /// Reads the stored output back, records its true size and format, and stores its thumbnail beside it. Best effort:
    /// any failure (an unreadable image, a storage fault) is logged and counted, and the output is kept as it was.
    /// </summary>
    private async Task<JobOutput> ThumbnailAsync(IImageThumbnailer thumbnailer, GenerationJob job, JobOutput output, IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        try
        {
            using var thumbnail = new MemoryStream();
            ThumbnailResult made;
            var source = await _storage.OpenReadAsync(output.Key, cancellationToken).ConfigureAwait(false);
            await using (source.ConfigureAwait(false))
            {
                made = await thumbnailer.CreateThumbnailAsync(source, thumbnail, cancellationToken).ConfigureAwait(false);
            }

            var key = MediaStorageKeys.ForThumbnail(job.Id, output.Index, made.ThumbnailContentType);
            thumbnail.Position = 0;
            await _storage.SaveAsync(key, thumbnail, new StorageWriteOptions { ContentType = made.ThumbnailContentType, Metadata = metadata }, cancellationToken).ConfigureAwait(false);
            return output with
            {
                Width = made.Width,
                Height = made.Height,
                ContentType = made.ContentType,
                ThumbnailKey = key,
                ThumbnailContentType = made.ThumbnailContentType,
            };
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _metrics.ThumbnailsFailed.Add(1, new KeyValuePair<string, object?>(MediaGenTelemetry.Tags.Model, job.Request.Model));
            Log.ThumbnailFailed(_logger, job.Id, output.Index, e);
            return output;
        }
    }

    private async Task HandleFailureAsync(AttemptState attempt, IMediaGenerator generator, JobError error, Exception exception, TimeSpan? retryAfter, bool rateLimited, bool refundable)
    {
        var job = await ReloadAsync(attempt.Job).ConfigureAwait(false);
        var lease = attempt.Lease;
        if (rateLimited)
        {
            var pause = retryAfter ?? TimeSpan.FromSeconds(30);
            await _rateGate.PauseAsync(generator.Name, pause).ConfigureAwait(false);
            Log.GeneratorPaused(_logger, generator.Name, pause);
        }

        if (!error.Retryable)
        {
            await _lifecycle.FailAsync(job, error, refundable, lease, deadLetter: false, attempt.Holder, exception).ConfigureAwait(false);
            return;
        }

        if (job.Attempt >= _options.MaxAttempts)
        {
            var exhausted = new JobError(MediaGenErrorCodes.AttemptsExhausted, $"All {job.Attempt} attempts failed." + LastError(error), Retryable: false);
            await _lifecycle.FailAsync(job, exhausted, refundable, lease, deadLetter: true, attempt.Holder, exception).ConfigureAwait(false);
            return;
        }

        var delay = Backoff.For(_workerOptions.Retry).DelayFor(job.Attempt, retryAfter);
        if (job.Deadline is { } deadline && _time.GetUtcNow() + delay >= deadline)
        {
            await _lifecycle.FailAsync(job, DeadlineError(error), refundable, lease, deadLetter: true, attempt.Holder, exception).ConfigureAwait(false);
            return;
        }

        await _lifecycle.RetryLaterAsync(job, attempt.Holder, lease, error, delay, exception).ConfigureAwait(false);
    }

    private async Task ReturnOnShutdownAsync(AttemptState attempt, IQueueLease lease) =>
        await _lifecycle.ReturnAsync(attempt.Job, attempt.Holder, lease).ConfigureAwait(false);

    /// <summary>A message with no job to run: nothing to transition, so only the message goes to the dead letters.</summary>
    private async Task DeadLetterOrphanAsync(IQueueLease lease, string reason, string description)
    {
        _metrics.DeadLettered.Add(1, new KeyValuePair<string, object?>(MediaGenTelemetry.Tags.ErrorCode, reason));
        Log.MessageDeadLettered(_logger, lease.Message.MessageId, reason);
        await SettleAsync(lease.Message.JobId, lease.DeadLetterAsync(reason, description, CancellationToken.None)).ConfigureAwait(false);
    }

    private async Task SettleAsync(string jobId, ValueTask settle)
    {
        try
        {
            await settle.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A lost lease or a queue fault: the message comes back, finds the job's outcome stored, and is dropped.
            Log.SettleFailed(_logger, jobId, e);
        }
    }

    private async Task<GenerationJob> ReloadAsync(GenerationJob job) =>
        await _store.GetAsync(job.Id, CancellationToken.None).ConfigureAwait(false) ?? job;

    private TimeSpan RenewalInterval(IQueueLease lease, DateTimeOffset now)
    {
        var half = (lease.LockedUntil - now) / 2;
        return half > TimeSpan.FromMilliseconds(1) ? half : TimeSpan.FromMilliseconds(1);
    }

    /// <summary>
    /// Names as failed (<see cref="MediaGenErrorCodes.OutputMissing"/>) the outputs <paramref name="job"/> asked for that
    /// <paramref name="result"/> neither delivered nor named, so their share is refunded: a generator that drops outputs
    /// without saying so charges nothing for them. They take the last indexes, as the delivered outputs take the lowest
    /// indexes not named failed (see <see cref="GenerationResult(IReadOnlyList{GeneratedOutput}, IReadOnlyList{OutputFailure})"/>).
    /// </summary>
    private static GenerationResult WithMissingOutputsFailed(GenerationResult result, GenerationJob job, string generatorName)
    {
        var asked = job.Request.GetOutputCount();
        var accounted = result.Outputs.Count + result.FailedOutputs.Count;
        if (accounted >= asked)
        {
            return result;
        }

        var failed = new List<OutputFailure>(asked - result.Outputs.Count);
        failed.AddRange(result.FailedOutputs);
        for (var index = accounted; index < asked; index++)
        {
            failed.Add(new OutputFailure(
                index,
                MediaGenErrorCodes.OutputMissing,
                $"The generator '{generatorName}' returned {accounted} of the {asked} outputs asked for, without naming output {index} as failed."));
        }

        return new GenerationResult(result.Outputs, failed);
    }

    /// <summary>A result in which every output failed: a permanent failure, with the outputs' code when they share one.</summary>
    private static GenerationException EveryOutputFailed(IReadOnlyList<OutputFailure> failures)
    {
        var code = failures.All(f => string.Equals(f.Code, failures[0].Code, StringComparison.Ordinal)) ? failures[0].Code : MediaGenErrorCodes.GeneratorPermanent;
        var detail = string.Join("; ", failures.OrderBy(f => f.Index).Select(f => $"output {f.Index}: {f.Message}"));
        return GenerationException.Permanent($"Every output failed ({detail}).", code);
    }

    private static JobError DeadlineError(JobError? last) =>
        new(MediaGenErrorCodes.DeadlineExceeded, "The job's deadline passed before it could finish." + LastError(last), Retryable: false);

    private static string LastError(JobError? error) => error is null ? string.Empty : $" Last error ({error.Code}): {error.Message}";

    /// <summary>Reuses a cancellation source that was never canceled; a canceled one is dropped.</summary>
    private sealed class CancellationSourcePolicy : PooledObjectPolicy<CancellationTokenSource>
    {
        public override CancellationTokenSource Create() => new();

        public override bool Return(CancellationTokenSource obj)
        {
            if (obj.TryReset())
            {
                return true;
            }

            obj.Dispose();
            return false;
        }
    }

    /// <summary>An attempt this delivery started: the job as written by the start, the run's holder, and what generates it.</summary>
    private readonly record struct AttemptStart(GenerationJob Job, string Holder, IMediaGenerator Generator, ModelDescriptor Model);
}
