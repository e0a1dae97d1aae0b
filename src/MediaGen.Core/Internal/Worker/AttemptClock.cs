namespace MediaGen.Internal;

/// <summary>Something the <see cref="AttemptClock"/> calls back when it comes due; its links are the clock's to keep.</summary>
internal abstract class AttemptClockEntry : IntrusiveListNode<AttemptClockEntry>
{
    internal long ClockDueTicks { get; set; }

    /// <summary>Called once per scheduling when the entry comes due, outside the clock's lock.</summary>
    public abstract void OnClockDue();
}

/// <summary>
/// One timer for every running attempt's lease renewal and deadline, instead of one timer per attempt. Entries are kept
/// in a list in due order: most are scheduled a renewal interval ahead, so they go at the tail, and an attempt that
/// finishes before its renewal (most do) is unlinked in O(1). The timer is armed for the head; an entry removed before it
/// is due leaves the timer as it was, and the early tick only arms it again.
/// </summary>
internal sealed class AttemptClock : IDisposable
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private readonly IntrusiveList<AttemptClockEntry> _due = new();
    private long _armedTicks = long.MaxValue;
    private bool _disposed;

    public AttemptClock(TimeProvider timeProvider)
    {
        _time = timeProvider;
        _timer = timeProvider.CreateTimer(static s => ((AttemptClock)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Schedules <paramref name="entry"/> for <paramref name="due"/>, replacing its earlier schedule.</summary>
    public void Schedule(AttemptClockEntry entry, DateTimeOffset due)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            if (entry.IsListed)
            {
                _due.Remove(entry);
            }

            entry.ClockDueTicks = due.UtcTicks;
            var after = _due.Last;
            while (after is not null && after.ClockDueTicks > entry.ClockDueTicks)
            {
                after = after.ListPrevious;
            }

            _due.InsertAfter(after, entry);
            Arm(_due.First!.ClockDueTicks);
        }
    }

    /// <summary>Takes <paramref name="entry"/> off the clock, if it is on it.</summary>
    public void Cancel(AttemptClockEntry entry)
    {
        lock (_gate)
        {
            if (entry.IsListed)
            {
                _due.Remove(entry);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _due.Clear();
        }

        _timer.Dispose();
    }

    private void OnTimer()
    {
        List<AttemptClockEntry>? due = null;
        lock (_gate)
        {
            _armedTicks = long.MaxValue;
            var now = _time.GetUtcNow().UtcTicks;
            while (_due.First is { } entry && entry.ClockDueTicks <= now)
            {
                _due.Remove(entry);
                (due ??= []).Add(entry);
            }

            if (_due.First is { } next)
            {
                Arm(next.ClockDueTicks);
            }
        }

        if (due is null)
        {
            return;
        }

        foreach (var entry in due)
        {
            entry.OnClockDue();
        }
    }

    /// <summary>Arms the timer for <paramref name="dueTicks"/> unless it fires sooner already. Caller holds the lock.</summary>
    private void Arm(long dueTicks)
    {
        if (dueTicks >= _armedTicks || _disposed)
        {
            return;
        }

        _armedTicks = dueTicks;
        _timer.Change(TimeSpan.FromTicks(Math.Max(0, dueTicks - _time.GetUtcNow().UtcTicks)), Timeout.InfiniteTimeSpan);
    }
}
