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
    private long _fired;

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
        var timer = new ObservedTimer(this);
        _timers[timer] = 0;
        timer.Arm(dueTime, period);
        timer.Inner = base.CreateTimer(
            s =>
            {
                Interlocked.Increment(ref _fired);
                timer.Fired();
                callback(s);
            },
            state,
            dueTime,
            period);
        Changed(rearmed: true);
        return timer;
    }

    /// <summary>
    /// Raised after the code under test creates or re-arms a timer, or disposes one before it fired (not when one fires,
    /// which happens inside <see cref="FakeTimeProvider.Advance"/>, nor when a fired one is cleaned up): the sign that work
    /// woken by the clock, or by anything else, has gone on to its next wait.
    /// </summary>
    public event Action? TimersRearmed;

    /// <summary>How many times a timer has fired, so a caller can tell whether moving time woke anything.</summary>
    public long FiredCount => Interlocked.Read(ref _fired);

    /// <summary>Waits until at least <paramref name="count"/> timers due <paramref name="dueIn"/> from now are waiting.</summary>
    /// <param name="count">How many.</param>
    /// <param name="dueIn">When they are due, from now.</param>
    /// <returns>A task that completes when they are.</returns>
    /// <exception cref="TimeoutException">They were not there within <see cref="Waits.Limit"/>.</exception>
    public Task WaitForTimersAsync(int count, TimeSpan dueIn) =>
        WaitUntilAsync(() => Pending().Count(t => t == dueIn) >= count, $"{count} timer(s) due in {dueIn} wait on the clock");

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

    private sealed class ObservedTimer(ObservedTimeProvider owner) : ITimer
    {
        private readonly Lock _lock = new();
        private DateTimeOffset? _dueAt;
        private TimeSpan _period;

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

        public void Arm(TimeSpan dueTime, TimeSpan period)
        {
            lock (_lock)
            {
                _dueAt = dueTime == Timeout.InfiniteTimeSpan ? null : owner.GetUtcNow() + dueTime;
                _period = period;
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
            }

            owner.Changed();
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            Arm(dueTime, period);
            var changed = Inner?.Change(dueTime, period) ?? false;
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
