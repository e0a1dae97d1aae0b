using System.Threading.Channels;

namespace MediaGen.Queue.ServiceBus.Endpoint;

/// <summary>One queue of <see cref="SpecAmqpEndpoint"/> with its dead-letter subqueue. All state is under one lock;
/// transfers are sent by a single pump task, outside the lock, in the order they were chosen.</summary>
public sealed class SpecQueue : IDisposable
{
    private static readonly Symbol LockTokenAnnotation = new("x-opt-lock-token");
    private static readonly Symbol LockedUntilAnnotation = new("x-opt-locked-until");
    private static readonly Symbol EnqueuedTimeAnnotation = new("x-opt-enqueued-time");
    private static readonly Symbol SequenceNumberAnnotation = new("x-opt-sequence-number");
    private static readonly Symbol ScheduledEnqueueTime = new("x-opt-scheduled-enqueue-time");
    private static readonly Symbol DeadLetterCondition = new("com.microsoft:dead-letter");

    private readonly SpecAmqpEndpoint _endpoint;
    private readonly Lock _gate = new();
    private readonly List<Entry> _active = [];
    private readonly List<Entry> _deadLetters = [];
    private readonly Dictionary<string, DateTimeOffset> _seenIds = new(StringComparer.Ordinal);
    private readonly List<SpecAmqpEndpoint.OutgoingEndpoint> _links = [];
    private readonly Dictionary<Message, (Entry Entry, Guid Token, SpecAmqpEndpoint.OutgoingEndpoint Link)> _sent = new(ReferenceEqualityComparer.Instance);
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ITimer _timer;
    private readonly Task _pump;
    private long _sequence;

    public SpecQueue(SpecAmqpEndpoint endpoint, string name, TimeSpan lockDuration, int maxDeliveryCount, TimeSpan duplicateDetectionWindow)
    {
        _endpoint = endpoint;
        Name = name;
        LockDuration = lockDuration;
        MaxDeliveryCount = maxDeliveryCount;
        DuplicateDetectionWindow = duplicateDetectionWindow;
        _timer = endpoint.Time.CreateTimer(static s => ((SpecQueue)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _pump = Task.Run(PumpAsync);
    }

    public string Name { get; }

    public TimeSpan LockDuration { get; }

    public int MaxDeliveryCount { get; }

    public TimeSpan DuplicateDetectionWindow { get; }

    /// <summary>Settlements that named a lock no longer held (ignored, as Service Bus would reject them).</summary>
    public int StaleSettlements { get; private set; }

    /// <summary>Messages dropped as duplicates.</summary>
    public int DuplicatesDropped { get; private set; }

    private DateTimeOffset Now => _endpoint.Time.GetUtcNow();

    public int ActiveCount
    {
        get
        {
            lock (_gate)
            {
                return _active.Count;
            }
        }
    }

    public int DeadLetterCount
    {
        get
        {
            lock (_gate)
            {
                return _deadLetters.Count;
            }
        }
    }

    /// <summary>Adds a message; returns its sequence number, or null when duplicate detection dropped it.</summary>
    public long? Enqueue(Message incoming)
    {
        var now = Now;
        long sequence;
        lock (_gate)
        {
            var id = incoming.Properties?.MessageId;
            if (id is not null)
            {
                if (_seenIds.TryGetValue(id, out var seen) && now - seen < DuplicateDetectionWindow)
                {
                    DuplicatesDropped++;
                    return null;
                }

                _seenIds[id] = now;
            }

            var scheduled = incoming.MessageAnnotations?[ScheduledEnqueueTime] is DateTime at ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : (DateTimeOffset?)null;
            sequence = ++_sequence;
            _active.Add(new Entry(incoming, sequence, scheduled is { } s && s > now ? s : now)
            {
                VisibleAt = scheduled is { } v && v > now ? v : now,
            });
            Rearm(now);
        }

        Wake();
        return sequence;
    }

    /// <summary>Removes scheduled messages that are not yet visible.</summary>
    public void CancelScheduled(long[] sequenceNumbers)
    {
        var now = Now;
        lock (_gate)
        {
            _active.RemoveAll(e => sequenceNumbers.Contains(e.Sequence) && e.VisibleAt > now && e.LockToken is null);
        }
    }

    /// <summary>Up to <paramref name="count"/> messages from <paramref name="fromSequence"/> on, in sequence order, without locking them.</summary>
    public List<Message> Peek(bool deadLetter, long fromSequence, int count)
    {
        lock (_gate)
        {
            return [.. (deadLetter ? _deadLetters : _active).Where(e => e.Sequence >= fromSequence).OrderBy(e => e.Sequence).Take(count).Select(e => e.ToDelivery(null))];
        }
    }

    public void AddLink(SpecAmqpEndpoint.OutgoingEndpoint link)
    {
        lock (_gate)
        {
            _links.Add(link);
        }

        _ = WakeAfterGraceAsync(link);
    }

    /// <summary>A closed link's locks end with it: its unsettled deliveries return as released.</summary>
    public void RemoveLink(SpecAmqpEndpoint.OutgoingEndpoint link)
    {
        lock (_gate)
        {
            _links.Remove(link);
            foreach (var (message, held) in _sent.ToList())
            {
                if (held.Link == link)
                {
                    _sent.Remove(message);
                    if (held.Entry.LockToken == held.Token)
                    {
                        held.Entry.LockToken = null;
                        held.Entry.Deliveries--;
                    }
                }
            }
        }

        Wake();
    }

    public void AddCredit(SpecAmqpEndpoint.OutgoingEndpoint link, int delta)
    {
        lock (_gate)
        {
            link.Credit = delta <= 0 ? 0 : link.Credit + delta;
        }

        Wake();
    }

    public DateTime[]? RenewLocks(Guid[] tokens)
    {
        var now = Now;
        lock (_gate)
        {
            var entries = tokens.Select(t => _active.FirstOrDefault(e => e.LockToken == t && e.LockedUntil > now)).ToList();
            if (entries.Any(e => e is null))
            {
                return null;
            }

            foreach (var entry in entries)
            {
                entry!.LockedUntil = now + LockDuration;
            }

            Rearm(now);
            return entries.Select(e => e!.LockedUntil.UtcDateTime).ToArray();
        }
    }

    /// <summary>Applies a settlement; false when the delivery's lock had expired or passed to another delivery (lock lost).</summary>
    public bool Settle(Message sent, DeliveryState? state)
    {
        var now = Now;
        lock (_gate)
        {
            if (!_sent.Remove(sent, out var held))
            {
                return false;
            }

            var (entry, token, _) = held;
            if (entry.LockToken != token || entry.LockedUntil <= now)
            {
                StaleSettlements++;
                return false;
            }

            var list = entry.Dead ? _deadLetters : _active;
            entry.LockToken = null;
            switch (state)
            {
                case Accepted:
                    list.Remove(entry);
                    break;
                case Rejected rejected when !entry.Dead:
                    var info = rejected.Error?.Info;
                    var isDeadLetter = rejected.Error?.Condition.Equals(DeadLetterCondition) == true;
                    MoveToDeadLetter(
                        entry,
                        isDeadLetter ? info?[new Symbol("DeadLetterReason")] as string ?? "unknown" : rejected.Error?.Condition.ToString() ?? "Rejected",
                        isDeadLetter ? info?[new Symbol("DeadLetterErrorDescription")] as string : rejected.Error?.Description,
                        now);
                    break;
                case Released:
                    entry.Deliveries--;
                    break;
                default:
                    // Modified and anything else: the delivery counts; too many deliveries dead-letter the message. The
                    // annotations of a modified outcome (the properties passed to abandon) become application properties.
                    if (state is Modified { MessageAnnotations: { } modifiedProperties })
                    {
                        entry.Message.ApplicationProperties ??= new ApplicationProperties();
                        foreach (var key in modifiedProperties.Keys)
                        {
                            entry.Message.ApplicationProperties.Map[key.ToString()!] = modifiedProperties[key];
                        }
                    }

                    if (!entry.Dead && entry.Deliveries >= MaxDeliveryCount)
                    {
                        MoveToDeadLetter(entry, "MaxDeliveryCountExceeded", $"Message could not be consumed after {MaxDeliveryCount} delivery attempts.", now);
                    }

                    break;
            }
        }

        Wake();
        return true;
    }

    /// <summary>Stops the queue's timer and pump.</summary>
    public void Dispose()
    {
        _timer.Dispose();
        _wake.Writer.TryComplete();
    }

    private void MoveToDeadLetter(Entry entry, string reason, string? description, DateTimeOffset now)
    {
        _active.Remove(entry);
        entry.Dead = true;
        entry.DeadLetterReason = reason;
        entry.DeadLetterDescription = description;
        entry.EnqueuedAt = now;
        entry.Sequence = ++_sequence;
        _deadLetters.Add(entry);
    }

    private void OnTimer()
    {
        var now = Now;
        lock (_gate)
        {
            foreach (var entry in _active.ToList())
            {
                if (entry.LockToken is not null && entry.LockedUntil <= now)
                {
                    entry.LockToken = null;
                    if (entry.Deliveries >= MaxDeliveryCount)
                    {
                        MoveToDeadLetter(entry, "MaxDeliveryCountExceeded", $"Message could not be consumed after {MaxDeliveryCount} delivery attempts.", now);
                    }
                }
            }

            foreach (var entry in _deadLetters)
            {
                if (entry.LockToken is not null && entry.LockedUntil <= now)
                {
                    entry.LockToken = null;
                }
            }

            foreach (var (id, seen) in _seenIds.ToList())
            {
                if (now - seen >= DuplicateDetectionWindow)
                {
                    _seenIds.Remove(id);
                }
            }

            Rearm(now);
        }

        Wake();
    }

    /// <summary>Arms the timer for the next lock expiry or scheduled message. Caller holds the lock.</summary>
    private void Rearm(DateTimeOffset now)
    {
        var next = DateTimeOffset.MaxValue;
        foreach (var entry in _active.Concat(_deadLetters))
        {
            if (entry.LockToken is not null && entry.LockedUntil < next)
            {
                next = entry.LockedUntil;
            }
            else if (entry.LockToken is null && entry.VisibleAt > now && entry.VisibleAt < next)
            {
                next = entry.VisibleAt;
            }
        }

        _timer.Change(next == DateTimeOffset.MaxValue ? Timeout.InfiniteTimeSpan : (next - now > TimeSpan.Zero ? next - now : TimeSpan.Zero), Timeout.InfiniteTimeSpan);
    }

    private void Wake() => _wake.Writer.TryWrite(true);

    private async Task WakeAfterGraceAsync(SpecAmqpEndpoint.OutgoingEndpoint link)
    {
        var wait = link.ReadyAt - Environment.TickCount64;
        if (wait > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(wait));
        }

        Wake();
    }

    private async Task PumpAsync()
    {
        while (await _wake.Reader.WaitToReadAsync())
        {
            _wake.Reader.TryRead(out _);
            List<(SpecAmqpEndpoint.OutgoingEndpoint Link, Message Message, Guid Token)> sends = [];
            List<SpecAmqpEndpoint.OutgoingEndpoint> drained = [];
            var now = Now;
            var tick = Environment.TickCount64;
            lock (_gate)
            {
                foreach (var link in _links)
                {
                    if (link.Closed)
                    {
                        continue;
                    }

                    if (link.Credit <= 0)
                    {
                        if (link.Link.IsDraining)
                        {
                            drained.Add(link);
                        }

                        continue;
                    }

                    if (link.ReadyAt > tick)
                    {
                        continue;
                    }

                    var source = link.DeadLetter ? _deadLetters : _active;
                    var ready = source.Where(e => e.LockToken is null && e.VisibleAt <= now)
                        .OrderByDescending(e => e.Message.Header?.Priority ?? 4)
                        .ThenBy(e => e.Sequence)
                        .Take(link.Credit)
                        .ToList();
                    foreach (var entry in ready)
                    {
                        link.Credit--;
                        var token = Guid.NewGuid();
                        entry.LockToken = token;
                        entry.LockedUntil = now + LockDuration;
                        var outgoing = entry.ToDelivery(token);
                        entry.Deliveries++;
                        _sent[outgoing] = (entry, token, link);
                        sends.Add((link, outgoing, token));
                    }

                    if (link.Link.IsDraining)
                    {
                        // Drain: the client wants what is ready now and its remaining credit back.
                        link.Credit = 0;
                        drained.Add(link);
                    }
                }

                if (sends.Count > 0)
                {
                    Rearm(now);
                }
            }

            foreach (var (link, message, token) in sends)
            {
                try
                {
                    AmqpDeliveryTags.Send(link.Link, message, token.ToByteArray());
                }
                catch (Exception e) when (e is AmqpException or ObjectDisposedException or InvalidOperationException)
                {
                    // The link closed under us; handled below.
                }

                if (link.Closed)
                {
                    // The link closed while this transfer was chosen: its lock ends with the link too.
                    RemoveLink(link);
                }
            }

            foreach (var link in drained)
            {
                try
                {
                    link.Link.CompleteDrain();
                }
                catch (Exception e) when (e is AmqpException or ObjectDisposedException or InvalidOperationException)
                {
                    // The link closed.
                }
            }
        }
    }

    private sealed class Entry(Message message, long sequence, DateTimeOffset enqueuedAt)
    {
        public Message Message { get; } = message;

        public long Sequence { get; set; } = sequence;

        public DateTimeOffset EnqueuedAt { get; set; } = enqueuedAt;

        public DateTimeOffset VisibleAt { get; set; }

        /// <summary>Deliveries so far (the header's delivery-count on the next one).</summary>
        public int Deliveries { get; set; }

        public Guid? LockToken { get; set; }

        public DateTimeOffset LockedUntil { get; set; }

        public bool Dead { get; set; }

        public string? DeadLetterReason { get; set; }

        public string? DeadLetterDescription { get; set; }

        public Message ToDelivery(Guid? token)
        {
            var properties = new ApplicationProperties();
            if (Message.ApplicationProperties is { } original)
            {
                foreach (var key in original.Map.Keys)
                {
                    properties.Map[key] = original.Map[key];
                }
            }

            if (Dead)
            {
                properties["DeadLetterReason"] = DeadLetterReason;
                if (DeadLetterDescription is not null)
                {
                    properties["DeadLetterErrorDescription"] = DeadLetterDescription;
                }
            }

            var annotations = new MessageAnnotations();
            if (Message.MessageAnnotations is { } sent)
            {
                foreach (var key in sent.Map.Keys)
                {
                    annotations.Map[key] = sent.Map[key];
                }
            }

            if (token is { } lockToken)
            {
                annotations[LockTokenAnnotation] = lockToken;
                annotations[LockedUntilAnnotation] = LockedUntil.UtcDateTime;
            }

            annotations[EnqueuedTimeAnnotation] = EnqueuedAt.UtcDateTime;
            annotations[SequenceNumberAnnotation] = Sequence;
            return new Message
            {
                Header = new Header { Durable = true, Priority = Message.Header?.Priority ?? 4, DeliveryCount = (uint)Deliveries },
                MessageAnnotations = annotations,
                Properties = Message.Properties,
                ApplicationProperties = properties,
                BodySection = Message.BodySection,
            };
        }
    }
}
