using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace MediaGen.Internal;

/// <summary>
/// The in-memory <see cref="IJobQueue"/>. It keeps the lease contract a durable queue keeps: a received message is
/// invisible until settled or until its lease expires, then delivered again with its count raised; delays and
/// priorities; dead letters. Ready messages live under a lock in one <see cref="FairQueue"/> per priority (groups
/// served in turn, each group first in, first out); a capacity-one channel is
/// the doorbell that wakes waiting receivers; one <see cref="ITimer"/> from the <see cref="TimeProvider"/> fires when
/// the next delayed message or lease comes due. Every lease lasts the same duration, so leases are kept in a
/// doubly-linked list in expiry order: receive and renew append, settle unlinks, expiry pops from the head; all O(1),
/// and a settled lease is released at once.
/// </summary>
internal sealed class InMemoryJobQueue : IJobQueue, IDisposable
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _leaseDuration;
    private readonly FairQueue[] _ready = [new(), new(), new()];
    private readonly PriorityQueue<Entry, long> _delayed = new();
    private readonly Dictionary<string, DeadLetterMessage> _deadLetters = new(StringComparer.Ordinal);
    private readonly Channel<bool> _doorbell = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ITimer _timer;
    private readonly IntrusiveList<InMemoryLease> _leases = new();
    private long _timerDueTicks = long.MaxValue;
    private int _readyCount;
    private bool _disposed;

    public InMemoryJobQueue(IOptions<InMemoryJobQueueOptions> options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _time = timeProvider;
        _leaseDuration = options.Value.LeaseDuration;
        _timer = timeProvider.CreateTimer(static state => ((InMemoryJobQueue)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public TimeSpan LeaseDuration => _leaseDuration;

    public ValueTask EnqueueAsync(QueueMessage message, EnqueueOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        options ??= EnqueueOptions.Default;
        var now = _time.GetUtcNow();
        var entry = new Entry(message, options.Priority, now);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (options.Delay > TimeSpan.Zero)
            {
                var due = (now + options.Delay).UtcTicks;
                _delayed.Enqueue(entry, due);
                ArmTimer(due);
                return ValueTask.CompletedTask;
            }

            MakeReady(entry);
        }

        Ring();
        return ValueTask.CompletedTask;
    }

    public async ValueTask<IReadOnlyList<IQueueLease>> ReceiveAsync(int maxMessages, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        var taken = TryTake(maxMessages);
        if (taken.Count > 0 || maxWait <= TimeSpan.Zero)
        {
            return taken;
        }

        using var timeout = new CancellationTokenSource(maxWait, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        while (true)
        {
            try
            {
                await _doorbell.Reader.ReadAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return TryTake(maxMessages);
            }

            taken = TryTake(maxMessages);
            if (taken.Count > 0)
            {
                return taken;
            }
        }
    }

    public ValueTask<IReadOnlyList<DeadLetterMessage>> ListDeadLettersAsync(int maxCount = 100, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            IReadOnlyList<DeadLetterMessage> list = _deadLetters.Values.OrderBy(d => d.DeadLetteredAt).Take(maxCount).ToList();
            return ValueTask.FromResult(list);
        }
    }

    public ValueTask<bool> ResubmitDeadLetterAsync(string messageId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messageId);
        lock (_gate)
        {
            if (!_deadLetters.Remove(messageId, out var deadLetter))
            {
                return ValueTask.FromResult(false);
            }

            MakeReady(new Entry(deadLetter.Message, JobPriority.Normal, _time.GetUtcNow()));
        }

        Ring();
        return ValueTask.FromResult(true);
    }

    public ValueTask<bool> DeleteDeadLetterAsync(string messageId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messageId);
        lock (_gate)
        {
            return ValueTask.FromResult(_deadLetters.Remove(messageId));
        }
    }

    public ValueTask<QueueDepth> GetDepthAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            PromoteDue(_time.GetUtcNow().UtcTicks);
            return ValueTask.FromResult(new QueueDepth(_readyCount, _delayed.Count, _leases.Count, _deadLetters.Count));
        }
    }

    public ValueTask<long?> GetPositionAsync(string messageId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        lock (_gate)
        {
            PromoteDue(_time.GetUtcNow().UtcTicks);
            long ahead = 0;
            for (var p = _ready.Length - 1; p >= 0; p--)
            {
                if (_ready[p].GetPosition(messageId) is { } position)
                {
                    return ValueTask.FromResult<long?>(ahead + position);
                }

                ahead += _ready[p].Count;
            }

            return ValueTask.FromResult<long?>(null);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        _timer.Dispose();
        _doorbell.Writer.TryComplete();
    }

    private List<IQueueLease> TryTake(int maxMessages)
    {
        var now = _time.GetUtcNow();
        List<IQueueLease>? taken = null;
        bool more;
        lock (_gate)
        {
            PromoteDue(now.UtcTicks);
            var lockedUntil = now + _leaseDuration;
            for (var p = _ready.Length - 1; p >= 0 && (taken?.Count ?? 0) < maxMessages; p--)
            {
                var queue = _ready[p];
                while (queue.Count > 0 && (taken?.Count ?? 0) < maxMessages)
                {
                    var entry = queue.Dequeue();
                    _readyCount--;
                    entry.DeliveryCount++;
                    var lease = new InMemoryLease(this, entry, lockedUntil);
                    Append(lease);
                    (taken ??= new List<IQueueLease>(Math.Min(maxMessages, 16))).Add(lease);
                }
            }

            if (taken is not null)
            {
                ArmTimer(lockedUntil.UtcTicks);
            }

            more = _readyCount > 0;
        }

        if (more)
        {
            // Other receivers may be waiting: pass the wake-up on.
            Ring();
        }

        return taken ?? [];
    }

    private void MakeReady(Entry entry)
    {
        _ready[(int)entry.Priority].Enqueue(entry.Message.GroupId ?? string.Empty, entry);
        _readyCount++;
    }

    private void Ring() => _doorbell.Writer.TryWrite(true);

    /// <summary>Moves due delayed messages and expired leases to the ready queues. Caller holds the lock.</summary>
    private bool PromoteDue(long nowTicks)
    {
        var promoted = false;
        while (_delayed.TryPeek(out var entry, out var due) && due <= nowTicks)
        {
            _delayed.Dequeue();
            MakeReady(entry);
            promoted = true;
        }

        while (_leases.First is { } lease && lease.LockedUntil.UtcTicks <= nowTicks)
        {
            Unlink(lease);
            MakeReady(lease.Entry);
            promoted = true;
        }

        return promoted;
    }

    private void Append(InMemoryLease lease) => _leases.AddLast(lease);

    private void Unlink(InMemoryLease lease) => _leases.Remove(lease);

    private void ArmTimer(long dueTicks)
    {
        if (dueTicks >= _timerDueTicks || _disposed)
        {
            return;
        }

        _timerDueTicks = dueTicks;
        var delay = TimeSpan.FromTicks(Math.Max(0, dueTicks - _time.GetUtcNow().UtcTicks));
        _timer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    private void OnTimer()
    {
        bool promoted;
        lock (_gate)
        {
            var now = _time.GetUtcNow().UtcTicks;
            _timerDueTicks = long.MaxValue;
            promoted = PromoteDue(now);
            var next = long.MaxValue;
            if (_delayed.TryPeek(out _, out var due))
            {
                next = due;
            }

            if (_leases.First is { } head)
            {
                next = Math.Min(next, head.LockedUntil.UtcTicks);
            }

            if (next != long.MaxValue)
            {
                ArmTimer(next);
            }
        }

        if (promoted)
        {
            Ring();
        }
    }

    private void Settle(InMemoryLease lease, Action<Entry>? then)
    {
        lock (_gate)
        {
            if (!lease.Held)
            {
                throw new LeaseLostException(lease.Message.MessageId);
            }

            Unlink(lease);
            then?.Invoke(lease.Entry);
        }
    }

    private void Abandon(InMemoryLease lease, TimeSpan delay, bool deferred = false)
    {
        var ready = false;
        Settle(lease, entry =>
        {
            if (deferred)
            {
                // Handed back on purpose: the next delivery counts as this one did.
                entry.DeliveryCount--;
            }

            if (delay > TimeSpan.Zero)
            {
                var due = (_time.GetUtcNow() + delay).UtcTicks;
                _delayed.Enqueue(entry, due);
                ArmTimer(due);
            }
            else
            {
                MakeReady(entry);
                ready = true;
            }
        });
        if (ready)
        {
            Ring();
        }
    }

    private void DeadLetter(InMemoryLease lease, string reason, string? description) =>
        Settle(lease, entry => _deadLetters[entry.Message.MessageId] =
            new DeadLetterMessage(entry.Message, reason, description, entry.DeliveryCount, _time.GetUtcNow()));

    private void Renew(InMemoryLease lease)
    {
        lock (_gate)
        {
            if (!lease.Held)
            {
                throw new LeaseLostException(lease.Message.MessageId);
            }

            // The new expiry is the latest of all, so the lease moves to the tail and the list stays in expiry order.
            var lockedUntil = _time.GetUtcNow() + _leaseDuration;
            Unlink(lease);
            lease.LockedUntil = lockedUntil;
            Append(lease);
            ArmTimer(lockedUntil.UtcTicks);
        }
    }

    /// <summary>
    /// Ready messages of one priority: a FIFO per group and a rotation of the groups that have messages, so dequeues
    /// serve the groups in turn (round robin). A group that runs empty is forgotten, so only groups with ready messages
    /// cost memory; its FIFO is kept for reuse, so a steady flow of one group allocates nothing per message.
    /// Caller holds the queue's lock.
    /// </summary>
    private sealed class FairQueue
    {
        private const int SpareQueues = 64;
        private readonly Dictionary<string, Queue<Entry>> _groups = new(StringComparer.Ordinal);
        private readonly Queue<string> _turns = new();
        private readonly Stack<Queue<Entry>> _spare = new();

        public int Count { get; private set; }

        public void Enqueue(string group, Entry entry)
        {
            if (!_groups.TryGetValue(group, out var queue))
            {
                queue = _spare.Count > 0 ? _spare.Pop() : new Queue<Entry>();
                _groups.Add(group, queue);
                _turns.Enqueue(group);
            }

            queue.Enqueue(entry);
            Count++;
        }

        /// <summary>
        /// How many entries <see cref="Dequeue"/> returns before the message: the groups take turns, so each other group
        /// goes ahead with as many entries as the rounds before the message's (one more when its turn comes first).
        /// Null when the message is not here. Walks every group: for a queue position now and then, not a hot path.
        /// </summary>
        public long? GetPosition(string messageId)
        {
            var turn = 0;
            foreach (var group in _turns)
            {
                var index = 0;
                foreach (var entry in _groups[group])
                {
                    if (entry.Message.MessageId == messageId)
                    {
                        long ahead = index;
                        var other = 0;
                        foreach (var otherGroup in _turns)
                        {
                            if (otherGroup != group)
                            {
                                ahead += Math.Min(_groups[otherGroup].Count, index + (other < turn ? 1 : 0));
                            }

                            other++;
                        }

                        return ahead;
                    }

                    index++;
                }

                turn++;
            }

            return null;
        }

        public Entry Dequeue()
        {
            var group = _turns.Dequeue();
            var queue = _groups[group];
            var entry = queue.Dequeue();
            if (queue.Count > 0)
            {
                _turns.Enqueue(group);
            }
            else
            {
                _groups.Remove(group);
                if (_spare.Count < SpareQueues)
                {
                    _spare.Push(queue);
                }
            }

            Count--;
            return entry;
        }
    }

    private sealed class Entry(QueueMessage message, JobPriority priority, DateTimeOffset enqueuedAt)
    {
        // Instants as UTC ticks: 8 bytes where a DateTimeOffset takes 16, in an object made for every message.
        private readonly long _enqueuedAt = enqueuedAt.UtcTicks;

        public QueueMessage Message { get; } = message;

        public JobPriority Priority { get; } = (int)priority is >= 0 and <= 2 ? priority : JobPriority.Normal;

        public DateTimeOffset EnqueuedAt => new(_enqueuedAt, TimeSpan.Zero);

        public int DeliveryCount { get; set; }
    }

    private sealed class InMemoryLease(InMemoryJobQueue queue, Entry entry, DateTimeOffset lockedUntil) : IntrusiveListNode<InMemoryLease>, IQueueLease
    {
        private int _settled;
        private long _lockedUntil = lockedUntil.UtcTicks;

        public Entry Entry { get; } = entry;

        /// <summary>Whether the lease is in the queue's expiry-ordered lease list (guarded by the queue's lock): not settled, not expired.</summary>
        public bool Held => IsListed;

        public QueueMessage Message => Entry.Message;

        public int DeliveryCount { get; } = entry.DeliveryCount;

        public DateTimeOffset EnqueuedAt => Entry.EnqueuedAt;

        public DateTimeOffset LockedUntil
        {
            get => new(_lockedUntil, TimeSpan.Zero);
            set => _lockedUntil = value.UtcTicks;
        }

        public JobPriority Priority => Entry.Priority;

        public ValueTask CompleteAsync(CancellationToken cancellationToken = default)
        {
            MarkSettled();
            queue.Settle(this, then: null);
            return ValueTask.CompletedTask;
        }

        public ValueTask AbandonAsync(TimeSpan delay = default, CancellationToken cancellationToken = default)
        {
            MarkSettled();
            queue.Abandon(this, delay);
            return ValueTask.CompletedTask;
        }

        public ValueTask DeferAsync(TimeSpan delay = default, CancellationToken cancellationToken = default)
        {
            MarkSettled();
            queue.Abandon(this, delay, deferred: true);
            return ValueTask.CompletedTask;
        }

        public ValueTask DeadLetterAsync(string reason, string? description = null, CancellationToken cancellationToken = default)
        {
            ArgumentException.ThrowIfNullOrEmpty(reason);
            MarkSettled();
            queue.DeadLetter(this, reason, description);
            return ValueTask.CompletedTask;
        }

        public ValueTask RenewAsync(CancellationToken cancellationToken = default)
        {
            queue.Renew(this);
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _settled, 1) == 0)
            {
                try
                {
                    queue.Abandon(this, TimeSpan.Zero);
                }
                catch (LeaseLostException)
                {
                    // Already redelivered to someone else: nothing to give back.
                }
            }

            return ValueTask.CompletedTask;
        }

        private void MarkSettled()
        {
            if (Interlocked.Exchange(ref _settled, 1) != 0)
            {
                throw new InvalidOperationException("The lease was already settled.");
            }
        }
    }
}
