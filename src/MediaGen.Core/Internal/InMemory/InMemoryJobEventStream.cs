using System.Runtime.CompilerServices;
using System.Threading.Channels;
using MediaGen.Shared;

namespace MediaGen.Internal;

/// <summary>
/// An event stream that keeps an event said by its job and type alone (its time given) without the event object being
/// made, for the in-memory lifecycle store's status events. A wrapper of the in-memory stream implements it to forward.
/// </summary>
internal interface IJobStatusEventSink
{
    /// <summary>Publishes the event <see cref="JobEventPublishing.Build"/> would make for <paramref name="job"/>, <paramref name="type"/> and <paramref name="timestamp"/>.</summary>
    void PublishStatus(GenerationJob job, JobEventType type, DateTimeOffset timestamp);
}

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
internal sealed class InMemoryJobEventStream : IJobEventStream, IJobStatusEventSink
{
    private const int SubscriberCapacity = 256;
    private readonly object _gate = new();
    private readonly Dictionary<string, JobEvents> _jobs = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly int _historyLength;
    private readonly TimeSpan _retention;

    // The jobs with a kept history, in the order they last published (a list through the jobs themselves), for dropping
    // expired histories oldest first.
    private readonly IntrusiveList<JobEvents> _byLastPublished = new();

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
            var job = Next(jobEvent.JobId, now, out var sequence);

            // The history numbers an event by its place, so the event is copied with its number only for a subscriber
            // (most jobs have none) or when it is read.
            if (job.Subscribers is { } subscribers)
            {
                Hand(subscribers, jobEvent.Sequence == sequence ? jobEvent : jobEvent with { Sequence = sequence });
            }

            job.Add(jobEvent, _historyLength);
            Published(job, now);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Publishes that <paramref name="type"/> happened to <paramref name="job"/> at <paramref name="timestamp"/>, with the
    /// job's status and attempt: the event <see cref="JobEventPublishing.Build"/> makes, kept without making it unless a
    /// subscriber is listening (the lifecycle's Queued, Started and Succeeded events, see <see cref="InMemoryJobLifecycleStore"/>).
    /// </summary>
    public void PublishStatus(GenerationJob job, JobEventType type, DateTimeOffset timestamp)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            var events = Next(job.Id, now, out var sequence);
            if (events.Subscribers is { } subscribers)
            {
                Hand(subscribers, JobEventPublishing.Build(job, type, timestamp) with { Sequence = sequence });
            }

            if (!events.TryAddStatus(job.OwnerId, type, timestamp, job.Status, job.Attempt, _historyLength))
            {
                events.Add(JobEventPublishing.Build(job, type, timestamp), _historyLength);
            }

            Published(events, now);
        }
    }

    public ValueTask<IReadOnlyList<JobEvent>> GetHistoryAsync(string jobId, long afterSequence, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        lock (_gate)
        {
            DropExpired(_time.GetUtcNow());
            IReadOnlyList<JobEvent> kept = _jobs.TryGetValue(jobId, out var job) ? job.After(afterSequence) : [];
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

            if (job.Subscribers is null && !job.IsListed)
            {
                // Nothing kept for the job (it published nothing, or its history expired): leave no trace.
                _jobs.Remove(jobId);
            }
        }

        return default;
    }

    /// <summary>The job's events, with expired histories dropped first, and the number its next event takes. Caller holds the lock.</summary>
    private JobEvents Next(string jobId, DateTimeOffset now, out long sequence)
    {
        DropExpired(now);
        var job = GetOrAdd(jobId);
        sequence = ++job.LastSequence;
        return job;
    }

    private static void Hand(List<Channel<JobEvent>> subscribers, JobEvent numbered)
    {
        foreach (var subscriber in subscribers)
        {
            subscriber.Writer.TryWrite(numbered);
        }
    }

    /// <summary>Marks <paramref name="job"/> as the latest to publish, for dropping expired histories oldest first. Caller holds the lock.</summary>
    private void Published(JobEvents job, DateTimeOffset now)
    {
        job.LastPublished = now;
        if (!ReferenceEquals(_byLastPublished.Last, job))
        {
            if (job.IsListed)
            {
                _byLastPublished.Remove(job);
            }

            _byLastPublished.AddLast(job);
        }
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
        while (_byLastPublished.First is { } job && now - job.LastPublished >= _retention)
        {
            _byLastPublished.Remove(job);
            if (job.Subscribers is null)
            {
                _jobs.Remove(job.JobId);
            }
            else
            {
                // Someone still listens: keep the sequence going, drop only the history.
                job.Clear();
            }
        }
    }

    /// <summary>
    /// One job's events: its latest ones in a ring (numbered <see cref="LastSequence"/> back, one apart), its place in
    /// the stream's publish order and its subscribers. Guarded by the stream's lock.
    /// </summary>
    /// <remarks>
    /// Most events say only what happened, when, and the job's status and attempt (Queued, Started, Succeeded), or that
    /// and an output (OutputStored): the ring keeps those few values in place of the event (a finished job's history is
    /// most of what the backend retains of it), and the event is made again when it is read. An event that carries more
    /// (progress, an error, a message) is kept as it is.
    /// </remarks>
    private sealed class JobEvents(string jobId) : IntrusiveListNode<JobEvents>
    {
        private const int FirstCapacity = 3;

        // The first three kept events live in the object itself (Queued, Started and a terminal event are most jobs' whole
        // history), so a retained job's history is one object; a longer one moves to an array that grows 6, 12 ...
        private FirstEvents _first;
        private KeptEvent[]? _grown;
        private int _length;
        private int _head;
        private int _count;
        private string? _ownerId;
        private long _lastPublished;

        public string JobId { get; } = jobId;

        public long LastSequence { get; set; }

        public DateTimeOffset LastPublished
        {
            get => new(_lastPublished, TimeSpan.Zero);
            set => _lastPublished = value.UtcTicks;
        }

        /// <summary>The job's live subscribers; null while there are none (most finished jobs), so a kept history costs no list.</summary>
        public List<Channel<JobEvent>>? Subscribers { get; set; }

        private Span<KeptEvent> Ring => _grown is null ? ((Span<KeptEvent>)_first)[.._length] : _grown;

        public void Add(JobEvent jobEvent, int capacity)
        {
            _ownerId ??= jobEvent.OwnerId;
            Add(KeptEvent.Of(jobEvent, _ownerId), capacity);
        }

        /// <summary>Keeps an event said by its type, time, status and attempt alone; false (nothing kept) when its owner is not the job's.</summary>
        public bool TryAddStatus(string ownerId, JobEventType type, DateTimeOffset timestamp, JobStatus status, int attempt, int capacity)
        {
            _ownerId ??= ownerId;
            if (!KeptEvent.TryOf(ownerId, _ownerId, type, timestamp, status, attempt, out var kept))
            {
                return false;
            }

            Add(kept, capacity);
            return true;
        }

        private void Add(KeptEvent kept, int capacity)
        {
            if (_length == 0)
            {
                _length = Math.Min(capacity, FirstCapacity);
            }

            if (_count == capacity)
            {
                Ring[_head] = kept;
                _head = (_head + 1) % _length;
                return;
            }

            if (_count == _length)
            {
                // Grows 3, 6, 12 ... up to the history length; the kept events move to the front in order.
                var ring = Ring;
                var grown = new KeptEvent[Math.Min(capacity, _length * 2)];
                for (var i = 0; i < _count; i++)
                {
                    grown[i] = ring[(_head + i) % _length];
                }

                _grown = grown;
                _first = default;
                _length = grown.Length;
                _head = 0;
            }

            Ring[(_head + _count) % _length] = kept;
            _count++;
        }

        /// <summary>The kept events numbered after <paramref name="afterSequence"/>, oldest first, each carrying its number.</summary>
        public JobEvent[] After(long afterSequence)
        {
            var first = LastSequence - _count + 1;
            var skip = (int)Math.Clamp(afterSequence - first + 1, 0, _count);
            if (skip == _count)
            {
                return [];
            }

            var ring = Ring;
            var events = new JobEvent[_count - skip];
            for (var i = 0; i < events.Length; i++)
            {
                events[i] = ring[(_head + skip + i) % _length].ToEvent(JobId, _ownerId!, first + skip + i);
            }

            return events;
        }

        public void Clear()
        {
            _first = default;
            _grown = null;
            _length = 0;
            _head = 0;
            _count = 0;
        }
    }

    /// <summary>The first kept events of a job, in place.</summary>
    [InlineArray(3)]
    private struct FirstEvents
    {
        private KeptEvent _event;
    }

    /// <summary>
    /// A kept event: its type, time, status and attempt, with the output it carries when that is all it carries more (an
    /// output stored: the job holds the same output, so keeping it costs nothing); else the event itself.
    /// </summary>
    private readonly struct KeptEvent
    {
        // The whole event (a JobEvent), or the event's output (a JobOutput) beside the values below, or null.
        private readonly object? _full;
        private readonly long _timestamp;
        private readonly int _attempt;
        private readonly byte _type;
        private readonly byte _status;

        private KeptEvent(object? full, DateTimeOffset timestamp, int attempt, byte type, byte status)
        {
            _full = full;
            _timestamp = timestamp.UtcTicks;
            _attempt = attempt;
            _type = type;
            _status = status;
        }

        public static KeptEvent Of(JobEvent e, string ownerId) =>
            e is { Progress: null, Message: null, Error: null } && TryOf(e.OwnerId, ownerId, e.Type, e.Timestamp, e.Status, e.Attempt, out var kept)
            ? (e.Output is { } output ? new KeptEvent(output, e.Timestamp, e.Attempt, (byte)e.Type, (byte)e.Status) : kept)
            : new KeptEvent(e, default, 0, 0, 0);

        /// <summary>An event that carries nothing but its type, time, status and attempt, kept as those values alone.</summary>
        public static bool TryOf(string eventOwnerId, string ownerId, JobEventType type, DateTimeOffset timestamp, JobStatus status, int attempt, out KeptEvent kept)
        {
            var compact = type is >= 0 and <= (JobEventType)byte.MaxValue && status is >= 0 and <= (JobStatus)byte.MaxValue
                && string.Equals(eventOwnerId, ownerId, StringComparison.Ordinal);
            kept = compact ? new KeptEvent(null, timestamp, attempt, (byte)type, (byte)status) : default;
            return compact;
        }

        public JobEvent ToEvent(string jobId, string ownerId, long sequence) => _full switch
        {
            JobEvent full when full.Sequence == sequence => full,
            JobEvent full => full with { Sequence = sequence },
            var output => new JobEvent
            {
                JobId = jobId,
                OwnerId = ownerId,
                Sequence = sequence,
                Type = (JobEventType)_type,
                Timestamp = new DateTimeOffset(_timestamp, TimeSpan.Zero),
                Status = (JobStatus)_status,
                Attempt = _attempt,
                Output = (JobOutput?)output,
            },
        };
    }
}
