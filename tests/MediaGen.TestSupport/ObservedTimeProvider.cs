using Microsoft.Extensions.Time.Testing;

namespace MediaGen.TestSupport;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that knows which of its timers are waiting to fire, so a test can wait until the
/// code under test waits on the clock (a delay, a rate-limit pause) and then move time, instead of sleeping.
/// </summary>
public sealed class ObservedTimeProvider : FakeTimeProvider
{
    private readonly ConcurrentDictionary<ObservedTimer, byte> _timers = new();
    private readonly Lock _lock = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _running;

    /// <summary>Initializes the clock at <paramref name="start"/>.</summary>
    /// <param name="start">The starting time.</param>
    public ObservedTimeProvider(DateTimeOffset start)
        : base(start)
    {
    }

    /// <summary>Initializes the clock at <see cref="FakeTimeProvider"/>'s default start.</summary>
    public ObservedTimeProvider()
    {
    }

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        // Shown as waiting only once the clock has registered it: a test that saw it earlier could move the clock first, and
        // the clock would then register it due that much later than the test expects.
        var timer = new ObservedTimer(this, state?.GetType().FullName ?? callback.Method.DeclaringType?.FullName ?? "?", period);
        timer.Inner = base.CreateTimer(
            s =>
            {
                Interlocked.Increment(ref _running);
                try
                {
                    timer.Fired();
                    callback(s);
                }
                finally
                {
                    Interlocked.Decrement(ref _running);
                    Changed();
                }
            },
            state,
            dueTime,
            period);
        timer.Armed(0, dueTime, period);
        _timers[timer] = 0;
        Changed(rearmed: true);
        return timer;
    }

    /// <summary>
    /// Raised after the code under test creates or re-arms a timer, or disposes one before it fired (not when one fires,
    /// which happens inside <see cref="FakeTimeProvider.Advance"/>, nor when a fired one is cleaned up): the sign that work
    /// woken by the clock, or by anything else, has gone on to its next wait.
    /// </summary>
    public event Action? TimersRearmed;

    /// <summary>Waits until at least <paramref name="count"/> timers due <paramref name="dueIn"/> from now are waiting.</summary>
    /// <param name="count">How many.</param>
    /// <param name="dueIn">When they are due, from now.</param>
    /// <returns>A task that completes when they are.</returns>
    /// <exception cref="TimeoutException">They were not there within <see cref="Waits.Limit"/>.</exception>
    public Task WaitForTimersAsync(int count, TimeSpan dueIn) =>
        WaitUntilAsync(() => Pending().Count(t => t == dueIn) >= count, $"{count} timer(s) due in {dueIn} wait on the clock");

    /// <summary>Whether any timer is due within <paramref name="step"/> from now, so moving the clock by it wakes something.</summary>
    /// <param name="step">How far the clock is about to move.</param>
    /// <returns>Whether a timer comes due.</returns>
    public bool AnyDueWithin(TimeSpan step) => Pending().Any(t => t <= step);

    /// <summary>
    /// Waits until every timer the clock has passed has fired and its callback has returned. <see cref="FakeTimeProvider.Advance"/>
    /// fires them on the calling thread, unless another thread is firing timers at that moment (one that creates or re-arms
    /// a timer does): then that thread fires them, and the move returns before they have.
    /// </summary>
    /// <param name="cancellationToken">Ends the wait early, as a timeout.</param>
    /// <returns>A task that completes when no timer is overdue and none is running.</returns>
    /// <exception cref="TimeoutException">They were not done within <see cref="Waits.Limit"/>, or before the token was canceled.</exception>
    public async Task WaitForDueTimersAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await WaitUntilAsync(() => Volatile.Read(ref _running) == 0 && !Pending().Any(t => t <= TimeSpan.Zero), "the timers the clock passed to fire", cancellationToken);
        }
        catch (TimeoutException e)
        {
            var now = GetUtcNow();
            var overdue = _timers.Keys.Where(t => t.DueAt <= now).Select(t => $"{t.Owner} due {t.DueAt:O}");
            throw new TimeoutException($"{e.Message} At {now:O}, {Volatile.Read(ref _running)} callback(s) running; overdue: {string.Join(", ", overdue)}.", e);
        }
    }

    /// <summary>
    /// How many timers that were set to fire <paramref name="dueTime"/> after they were armed are waiting to fire, however
    /// far the clock has moved since: the loops that wait that period between passes and are waiting now, not running a pass.
    /// </summary>
    /// <param name="dueTime">The due time the timers were armed with.</param>
    /// <returns>How many are waiting.</returns>
    public int CountWaiting(TimeSpan dueTime)
    {
        var now = GetUtcNow();
        return _timers.Keys.Count(t => t.IsWaiting(dueTime, now));
    }

    /// <summary>
    /// Moves time forward by <paramref name="step"/> whenever the code under test waits on a timer due within
    /// <paramref name="horizon"/> (one minute when null), until <paramref name="done"/> completes; between moves it waits
    /// for the code to reach its next timer, not for wall-clock time. Checks <paramref name="invariant"/> before every
    /// move made before <paramref name="until"/>.
    /// </summary>
    /// <param name="done">The work under test.</param>
    /// <param name="step">How far to move time at once.</param>
    /// <param name="until">Until when <paramref name="invariant"/> must hold.</param>
    /// <param name="invariant">What must hold until then.</param>
    /// <param name="horizon">Timers due later than this (call timeouts) do not count as waiting.</param>
    /// <returns>How far time was moved.</returns>
    public async Task<TimeSpan> AdvanceUntilDoneAsync(Task done, TimeSpan step, TimeSpan until, Action invariant, TimeSpan? horizon = null)
    {
        ArgumentNullException.ThrowIfNull(done);
        ArgumentNullException.ThrowIfNull(invariant);
        var within = horizon ?? TimeSpan.FromMinutes(1);
        var elapsed = TimeSpan.Zero;
        using var limit = new CancellationTokenSource(Waits.Limit);
        while (!done.IsCompleted)
        {
            var waiting = WaitUntilAsync(() => Pending().Any(t => t <= within), "the work waits on the clock", limit.Token);
            await Waits.BoundedAsync(Task.WhenAny(done, waiting), limit.Token, "the work finished or waited on the clock");
            if (done.IsCompleted)
            {
                break;
            }

            if (elapsed < until)
            {
                invariant();
            }

            Advance(step);
            elapsed += step;
            await Waits.BoundedAsync(WaitForDueTimersAsync(), limit.Token, "the timers the clock passed to fire");
        }

        await done;
        return elapsed;
    }

    private IEnumerable<TimeSpan> Pending()
    {
        var now = GetUtcNow();
        return _timers.Keys.Select(t => t.DueAt).OfType<DateTimeOffset>().Select(due => due - now).ToList();
    }

    private async Task WaitUntilAsync(Func<bool> condition, string what, CancellationToken cancellationToken = default)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(Waits.Limit);
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                changed = _changed.Task;
            }

            if (condition())
            {
                return;
            }

            await Waits.BoundedAsync(changed, limit.Token, what);
        }
    }

    private void Changed(bool rearmed = false)
    {
        if (rearmed)
        {
            TimersRearmed?.Invoke();
        }

        TaskCompletionSource changed;
        lock (_lock)
        {
            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    private sealed class ObservedTimer(ObservedTimeProvider owner, string ownerName, TimeSpan period) : ITimer
    {
        /// <summary>Whose timer it is (the type of its state or callback), for failure messages.</summary>
        public string Owner { get; } = ownerName;

        private readonly Lock _lock = new();
        private DateTimeOffset? _dueAt;
        private TimeSpan _dueTime;
        private TimeSpan _period = period;
        private long _armings;

        public ITimer? Inner { get; set; }

        /// <summary>When the timer fires next, or null when it is not waiting to fire.</summary>
        public DateTimeOffset? DueAt
        {
            get
            {
                lock (_lock)
                {
                    return _dueAt;
                }
            }
        }

        /// <summary>How many times the timer was armed or fired.</summary>
        public long Armings
        {
            get
            {
                lock (_lock)
                {
                    return _armings;
                }
            }
        }

        /// <summary>
        /// Records an arming once the clock has registered it, unless the timer fired since <paramref name="armings"/> was
        /// read (what the firing recorded stands). The clock read its own time for it, which a move on another thread may
        /// have put after an earlier read: the timer is recorded due from the time read now, the later of the two, so it
        /// is never taken for overdue while the clock has yet to reach it.
        /// </summary>
        public void Armed(long armings, TimeSpan dueTime, TimeSpan period)
        {
            DateTimeOffset? dueAt = dueTime == Timeout.InfiniteTimeSpan ? null : owner.GetUtcNow() + dueTime;
            lock (_lock)
            {
                if (_armings != armings)
                {
                    return;
                }

                _dueAt = dueAt;
                _dueTime = dueTime;
                _period = period;
                _armings++;
            }
        }

        /// <summary>Whether the timer was last armed with <paramref name="dueTime"/> and is due after <paramref name="now"/>.</summary>
        public bool IsWaiting(TimeSpan dueTime, DateTimeOffset now)
        {
            lock (_lock)
            {
                return _dueAt > now && _dueTime == dueTime;
            }
        }

        /// <summary>Whether the timer fired and is not armed again: disposing it then is clean-up, not a new wait.</summary>
        public bool Spent
        {
            get
            {
                lock (_lock)
                {
                    return _dueAt is null;
                }
            }
        }

        public void Fired()
        {
            lock (_lock)
            {
                _dueAt = _period == Timeout.InfiniteTimeSpan || _period == TimeSpan.Zero ? null : owner.GetUtcNow() + _period;
                _dueTime = _period;
                _armings++;
            }

            owner.Changed();
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            var armings = Armings;
            var changed = Inner?.Change(dueTime, period) ?? false;
            Armed(armings, dueTime, period);
            owner.Changed(rearmed: true);
            return changed;
        }

        public void Dispose()
        {
            var spent = Spent;
            owner._timers.TryRemove(this, out _);
            Inner?.Dispose();
            owner.Changed(rearmed: !spent);
        }

        public async ValueTask DisposeAsync()
        {
            var spent = Spent;
            owner._timers.TryRemove(this, out _);
            if (Inner is not null)
            {
                await Inner.DisposeAsync();
            }

            owner.Changed(rearmed: !spent);
        }
    }
}
