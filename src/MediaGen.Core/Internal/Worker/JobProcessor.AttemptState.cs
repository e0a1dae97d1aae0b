namespace MediaGen.Internal;

internal sealed partial class JobProcessor
{
    /// <summary>
    /// One running attempt: the job as last written, the progress and checkpoint sinks handed to the generator, and the
    /// lease renewal tick, which extends the run's lease on the job and notices a cancel whose signal never arrived.
    /// </summary>
    private sealed class AttemptState(JobProcessor processor, IQueueLease lease, GenerationJob job, string holder, TimeSpan renewal)
        : AttemptClockEntry, IProgress<GenerationProgress>, ICheckpointSink, IRunningAttempt, IDisposable
    {
        // JobAborted: the job is over (owner cancel, deadline). AttemptCanceled: this attempt stops for any reason. Both come
        // from the processor's pool and go back to it when the attempt ends uncanceled; a cancel is refused once it ended.
        private readonly CancellationTokenSource jobAborted = processor._cancellationSources.Get();
        private readonly CancellationTokenSource attemptCancel = processor._cancellationSources.Get();
        private bool _ended;
        private GenerationJob _job = job;
        private long _lastProgressTimestamp;
        private GenerationProgress _progress;
        private bool _progressDirty;
        private int _renewing;
        private bool _completed;
        private long _timeoutAtTicks;

        public IQueueLease Lease { get; } = lease;

        /// <summary>The run's holder id, written on the job when the attempt started.</summary>
        public string Holder { get; } = holder;

        public CancellationToken JobAborted => jobAborted.Token;

        public CancellationToken AttemptCanceled => attemptCancel.Token;

        public bool IsJobAborted => jobAborted.IsCancellationRequested;

        public void Abort() => _ = CancelQuietlyAsync(jobAborted, attemptCancel);

        public void StopForShutdown() => _ = CancelQuietlyAsync(null, attemptCancel);

        /// <summary>The attempt ended: no cancel reaches its sources any more, and they go back to the pool unless canceled.</summary>
        public void Dispose()
        {
            lock (this)
            {
                _ended = true;
            }

            processor._cancellationSources.Return(jobAborted);
            processor._cancellationSources.Return(attemptCancel);
        }

        public GenerationJob Job
        {
            get
            {
                lock (this)
                {
                    return _job;
                }
            }
        }

        public bool LeaseLost { get; private set; }

        /// <summary>When the generator's run times out; null once it returned. Kept as UTC ticks + 1 (0 for none): 8 bytes, not 24.</summary>
        private DateTimeOffset? TimeoutAt
        {
            get => _timeoutAtTicks == 0 ? null : new DateTimeOffset(_timeoutAtTicks - 1, TimeSpan.Zero);
            set => _timeoutAtTicks = value is { } at ? at.UtcTicks + 1 : 0;
        }

        /// <summary>Whether the generator ran past the attempt timeout and its token was canceled for it.</summary>
        public bool TimedOut { get; private set; }

        public void Report(GenerationProgress value)
        {
            var fraction = Math.Clamp(value.Fraction, 0, 1);
            var now = processor._time.GetTimestamp();
            GenerationJob job;
            lock (this)
            {
                _progress = value with { Fraction = fraction };
                _progressDirty = true;
                if (_completed || (_lastProgressTimestamp != 0 && processor._time.GetElapsedTime(_lastProgressTimestamp, now) < processor._workerOptions.ProgressInterval))
                {
                    return;
                }

                _lastProgressTimestamp = now;
                job = _job;
            }

            var publish = processor._lifecycle.PublishProgressAsync(job, fraction, value.Message);
            if (!publish.IsCompletedSuccessfully)
            {
                _ = ObserveAsync(publish);
            }
        }

        public async ValueTask SaveAsync(string checkpoint, CancellationToken cancellationToken = default)
        {
            ArgumentException.ThrowIfNullOrEmpty(checkpoint);
            var saved = await processor._lifecycle.CheckpointAsync(Job, Holder, checkpoint, cancellationToken).ConfigureAwait(false);
            if (!saved.Written)
            {
                throw new OperationCanceledException("This attempt no longer runs the job; the checkpoint was not saved.");
            }

            Remember(saved.Job);
        }

        /// <summary>
        /// Schedules the first renewal, the deadline or the attempt timeout (<paramref name="timeout"/> from now, for the
        /// generator's run), whichever comes first, on the processor's clock.
        /// </summary>
        public void Start(DateTimeOffset now, TimeSpan timeout)
        {
            lock (this)
            {
                TimeoutAt = now + timeout;
            }

            Arm(now);
        }

        /// <summary>The generator returned: the attempt timeout no longer applies (storing the outputs is not timed).</summary>
        public void EndGeneration()
        {
            lock (this)
            {
                TimeoutAt = null;
            }
        }

        /// <summary>Stops renewals; the attempt is settling.</summary>
        public void Stop()
        {
            lock (this)
            {
                _completed = true;
                processor._clock.Cancel(this);
            }
        }

        public override void OnClockDue()
        {
            var now = processor._time.GetUtcNow();
            if (Job.Deadline is { } deadline && now >= deadline)
            {
                // The job is over: the generator cancels its provider work, and the attempt fails as past its deadline.
                Abort();
                return;
            }

            lock (this)
            {
                if (TimeoutAt is { } timeoutAt && now >= timeoutAt && !_completed)
                {
                    // The generator ran too long: its token is canceled, and the attempt ends as timed out (retryable).
                    // The lease is renewed now too: a generator that is slow to stop keeps the run until it does.
                    TimeoutAt = null;
                    TimedOut = true;
                    _ = CancelQuietlyAsync(null, attemptCancel);
                }
            }

            if (Interlocked.Exchange(ref _renewing, 1) == 0)
            {
                Log.RenewingLease(processor._logger, Job.Id, Lease.LockedUntil);
                _ = RenewAsync();
            }
            else
            {
                Arm(now);
            }
        }

        private void Arm(DateTimeOffset now)
        {
            var due = renewal;
            if (Job.Deadline is { } deadline && deadline - now < due)
            {
                due = deadline - now > TimeSpan.Zero ? deadline - now : TimeSpan.Zero;
            }

            lock (this)
            {
                if (TimeoutAt is { } timeoutAt && timeoutAt - now < due)
                {
                    due = timeoutAt - now > TimeSpan.Zero ? timeoutAt - now : TimeSpan.Zero;
                }

                if (!_completed)
                {
                    processor._clock.Schedule(this, now + due);
                }
            }
        }

        /// <summary>
        /// Cancels <paramref name="first"/>, lets its callbacks run, then cancels <paramref name="second"/>; each only while
        /// the attempt has not ended (its sources may serve another attempt by then).
        /// </summary>
        private async Task CancelQuietlyAsync(CancellationTokenSource? first, CancellationTokenSource second)
        {
            try
            {
                if (first is not null)
                {
                    await CancelUnlessEnded(first).ConfigureAwait(false);
                }

                await CancelUnlessEnded(second).ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                // The attempt finished first.
            }
        }

        private Task CancelUnlessEnded(CancellationTokenSource source)
        {
            lock (this)
            {
                // CancelAsync marks the source canceled before it returns (its callbacks run after), so a source canceled
                // here is never reset and reused.
                return _ended ? Task.CompletedTask : source.CancelAsync();
            }
        }

        private async Task RenewAsync()
        {
            try
            {
                try
                {
                    await Lease.RenewAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (LeaseLostException)
                {
                    LeaseLost = true;
                    await CancelQuietlyAsync(null, attemptCancel).ConfigureAwait(false);
                    return;
                }

                // A heartbeat on the job: it extends the run's lease there to match the queue's, persists progress, and
                // reads a cancel requested through another process.
                GenerationProgress? progress = null;
                lock (this)
                {
                    if (_progressDirty)
                    {
                        progress = _progress;
                        _progressDirty = false;
                    }
                }

                var stored = await processor._lifecycle.HeartbeatAsync(Job, Holder, Lease.LockedUntil, progress).ConfigureAwait(false);
                Remember(stored);
                if (stored.Status != JobStatus.Processing || !string.Equals(stored.LeaseHolder, Holder, StringComparison.Ordinal))
                {
                    // Finished or taken over elsewhere: this attempt no longer owns the run.
                    if (stored.Status == JobStatus.Processing)
                    {
                        LeaseLost = true;
                        await CancelQuietlyAsync(null, attemptCancel).ConfigureAwait(false);
                    }
                    else
                    {
                        await CancelQuietlyAsync(jobAborted, attemptCancel).ConfigureAwait(false);
                    }
                }
                else if (stored.CancelRequested)
                {
                    await CancelQuietlyAsync(jobAborted, attemptCancel).ConfigureAwait(false);
                }
            }
            catch (ObjectDisposedException)
            {
                // The attempt finished while the tick ran.
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.SettleFailed(processor._logger, Job.Id, e);
            }
            finally
            {
                Volatile.Write(ref _renewing, 0);
                Arm(processor._time.GetUtcNow());
                Log.LeaseRenewalDone(processor._logger, Job.Id, Lease.LockedUntil);
            }
        }

        private void Remember(GenerationJob stored)
        {
            lock (this)
            {
                if (stored.Version > _job.Version)
                {
                    _job = stored;
                }
            }
        }

        private static async Task ObserveAsync(ValueTask publish)
        {
            try
            {
                await publish.ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Progress is best effort; the job's state is in the store.
            }
        }
    }
}
