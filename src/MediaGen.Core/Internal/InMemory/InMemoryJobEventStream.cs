using System.Threading.Channels;
using MediaGen.Shared;

namespace MediaGen.Internal;

/// <summary>
/// The in-memory <see cref="IJobEventStream"/>: each subscriber gets a bounded channel; a subscriber that falls
/// far behind loses its oldest progress events rather than slowing the worker down. Each job keeps its latest
/// <see cref="MediaGenerationOptions.EventHistoryLength"/> events until <see cref="MediaGenerationOptions.EventHistoryRetention"/>
/// after its latest one; expired histories are dropped as later events are published.
/// </summary>
/// <remarks>
/// One lock orders everything: a job's next sequence, its history and the hand-over to its subscribers, so a
/// subscriber sees the sequences in order and a history read never misses an event a subscriber was given.
/// </remarks>
internal sealed class InMemoryJobEventStream : IJobEventStream
{
    private const int SubscriberCapacity = 256;
    private readonly object _gate = new();
    private readonly Dictionary<string, JobEvents> _jobs = new(StringComparer.Ordinal);

    // The jobs in the order they last published, for dropping expired histories oldest first.
    private readonly LinkedList<JobEvents> _byLastPublished = new();
    private readonly TimeProvider _time;
    private readonly int _historyLength;
    private readonly TimeSpan _retention;

    public InMemoryJobEventStream(TimeProvider? timeProvider = null, int historyLength = 100, TimeSpan? retention = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(historyLength);
        _time = timeProvider ?? TimeProvider.System;
        _historyLength = historyLength;
        _retention = retention ?? TimeSpan.FromDays(1);
    }

    public ValueTask PublishAsync(JobEvent jobEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobEvent);
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            DropExpired(now);
            var job = GetOrAdd(jobEvent.JobId);
            var numbered = jobEvent with { Sequence = ++job.LastSequence };
            job.History.Enqueue(numbered);
            if (job.History.Count > _historyLength)
            {
                job.History.Dequeue();
            }

            job.LastPublished = now;
            if (job.Node.List is not null)
            {
                _byLastPublished.Remove(job.Node);
            }

            _byLastPublished.AddLast(job.Node);
            if (job.Subscribers is { } subscribers)
            {
                foreach (var subscriber in subscribers)
                {
                    subscriber.Writer.TryWrite(numbered);
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<JobEvent>> GetHistoryAsync(string jobId, long afterSequence, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        lock (_gate)
        {
            DropExpired(_time.GetUtcNow());
            IReadOnlyList<JobEvent> kept = _jobs.TryGetValue(jobId, out var job)
                ? job.History.Where(e => e.Sequence > afterSequence).ToArray()
                : [];
            return ValueTask.FromResult(kept);
        }
    }

    public ValueTask<IAsyncEnumerator<JobEvent>> OpenSubscriptionAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        cancellationToken.ThrowIfCancellationRequested();
        var channel = Channel.CreateBounded<JobEvent>(new BoundedChannelOptions(SubscriberCapacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        JobEvents job;
        lock (_gate)
        {
            job = GetOrAdd(jobId);
            (job.Subscribers ??= []).Add(channel);
        }

        return new(new ChannelEventSubscription(channel.Reader, () => Unsubscribe(jobId, job, channel), cancellationToken));
    }

    private ValueTask Unsubscribe(string jobId, JobEvents job, Channel<JobEvent> channel)
    {
        lock (_gate)
        {
            if (job.Subscribers is { } subscribers && subscribers.Remove(channel) && subscribers.Count == 0)
            {
                job.Subscribers = null;
            }

            if (job.Subscribers is null && job.Node.List is null)
            {
                // Nothing kept for the job (it published nothing, or its history expired): leave no trace.
                _jobs.Remove(jobId);
            }
        }

        return default;
    }

    private JobEvents GetOrAdd(string jobId)
    {
        if (!_jobs.TryGetValue(jobId, out var job))
        {
            job = new JobEvents(jobId);
            _jobs.Add(jobId, job);
        }

        return job;
    }

    private void DropExpired(DateTimeOffset now)
    {
        while (_byLastPublished.First is { } oldest && now - oldest.Value.LastPublished >= _retention)
        {
            _byLastPublished.RemoveFirst();
            var job = oldest.Value;
            if (job.Subscribers is null)
            {
                _jobs.Remove(job.JobId);
            }
            else
            {
                // Someone still listens: keep the sequence going, drop only the history.
                job.History.Clear();
            }
        }
    }

    private sealed class JobEvents
    {
        public JobEvents(string jobId)
        {
            JobId = jobId;
            Node = new LinkedListNode<JobEvents>(this);
        }

        public string JobId { get; }

        public LinkedListNode<JobEvents> Node { get; }

        public long LastSequence { get; set; }

        public DateTimeOffset LastPublished { get; set; }

        public Queue<JobEvent> History { get; } = new();

        /// <summary>The job's live subscribers; null while there are none (most finished jobs), so a kept history costs no list.</summary>
        public List<Channel<JobEvent>>? Subscribers { get; set; }
    }
}
