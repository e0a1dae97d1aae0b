namespace MediaGen.Internal;

internal sealed partial class JobProcessor
{
    /// <summary>
    /// One running attempt: the job as last written, the progress and checkpoint sinks handed to the generator, and the
    /// lease renewal tick, which also notices a cancel requested from another process.
    /// </summary>
    private sealed class AttemptState(JobProcessor processor, IQueueLease lease, GenerationJob job, CancellationTokenSource jobAborted, CancellationTokenSource attemptCancel)
        : IProgress<GenerationProgress>, ICheckpointSink
    {
        private readonly Lock _gate = new();
        private GenerationJob _job = job;
        private long _lastProgressTimestamp;
        private GenerationProgress _progress;
        private bool _progressDirty;
        private int _renewing;
        private bool _completed;

        public IQueueLease Lease { get; } = lease;

        public GenerationJob Job
        {
            get
            {
                lock (_gate)
                {
                    return _job;
                }
            }
        }

        public bool LeaseLost { get; private set; }

        public void Report(GenerationProgress value)
        {
            var fraction = Math.Clamp(value.Fraction, 0, 1);
            var now = processor._time.GetTimestamp();
            GenerationJob job;
            lock (_gate)
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

            var publish = processor.PublishAsync(job, JobEventType.Progress, progress: fraction, message: value.Message);
            if (!publish.IsCompletedSuccessfully)
            {
                _ = ObserveAsync(publish);
            }
        }

        public async ValueTask SaveAsync(string checkpoint, CancellationToken cancellationToken = default)
        {
            ArgumentException.ThrowIfNullOrEmpty(checkpoint);
            var saved = await processor._transitions.UpdateAsync(Job, j => j.Status == JobStatus.Processing ? j with { Checkpoint = checkpoint } : null, cancellationToken).ConfigureAwait(false);
            if (saved.Checkpoint != checkpoint)
            {
                throw new OperationCanceledException("The job is no longer processing; the checkpoint was not saved.");
            }

            Remember(saved);
        }

        public void OnRenewTick()
        {
            if (Interlocked.Exchange(ref _renewing, 1) == 0)
            {
                _ = RenewAsync();
            }
        }

        public void Complete()
        {
            lock (_gate)
            {
                _completed = true;
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
                    await attemptCancel.CancelAsync().ConfigureAwait(false);
                    return;
                }

                // A heartbeat on the job: it shows liveness to the sweeper, persists progress, and reads a cancel
                // requested through another process.
                GenerationProgress progress;
                bool dirty;
                lock (_gate)
                {
                    progress = _progress;
                    dirty = _progressDirty;
                    _progressDirty = false;
                }

                var stored = await processor._transitions.UpdateAsync(Job, j => j.Status != JobStatus.Processing
                    ? null
                    : dirty ? j with { Progress = progress.Fraction, ProgressMessage = progress.Message } : j, CancellationToken.None).ConfigureAwait(false);
                Remember(stored);
                if (stored.CancelRequested || stored.Status != JobStatus.Processing)
                {
                    await jobAborted.CancelAsync().ConfigureAwait(false);
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
            }
        }

        private void Remember(GenerationJob stored)
        {
            lock (_gate)
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
