using MediaGen.Shared;

namespace MediaGen.Queue.Redis.Tests;

/// <summary>
/// The receive loop that the Redis and PostgreSQL queues share, on its own: no server, a look that the test answers.
/// </summary>
public sealed class WakeableReceiveTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ReceiveAsync_ClockPassesTheDueTimeWhileTheWaitIsArmed_LooksAgainAtOnce()
    {
        // The clock moves to the due time after the loop has read it to size its wait, just before its timer is armed: what
        // a test's clock, moved on another thread, can do. The timer then counts from the new time; without a second look
        // at the clock the receive would sleep a whole wait past the due time.
        var time = new MovesBeforeNextTimer(Start) { Step = TimeSpan.FromSeconds(10) };
        var due = Start + TimeSpan.FromSeconds(10);
        var looks = 0;

        var receive = WakeableReceive.ReceiveAsync(
            state: 0,
            signal: _ => new TaskCompletionSource().Task,
            receiveOnce: (_, _) =>
            {
                looks++;
                if (time.GetUtcNow() >= due)
                {
                    return ValueTask.FromResult<(IReadOnlyList<IQueueLease>, DateTimeOffset?)>(([new RecordingLease(new QueueMessage("job-1"))], null));
                }

                time.MoveBeforeNextTimer = true;
                return ValueTask.FromResult<(IReadOnlyList<IQueueLease>, DateTimeOffset?)>(([], due));
            },
            maxWait: TimeSpan.FromMinutes(5),
            idleCheck: TimeSpan.FromMinutes(1),
            time,
            CancellationToken.None).AsTask();

        var leases = await receive.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Single(leases);
        Assert.Equal(2, looks);
        Assert.Equal(due, time.GetUtcNow());
    }

    [Fact]
    public async Task ReceiveAsync_NothingDue_WaitsForTheTimerThenLooksAgain()
    {
        // The check above must not turn every wait into a busy loop: with the clock still, the receive waits on its timer.
        var time = new MovesBeforeNextTimer(Start);
        var looks = System.Threading.Channels.Channel.CreateUnbounded<DateTimeOffset>();
        var receive = WakeableReceive.ReceiveAsync(
            state: 0,
            signal: _ => new TaskCompletionSource().Task,
            receiveOnce: (_, _) =>
            {
                // Something falls due at the first look only (a lease another receiver then takes); after it, nothing does.
                var now = time.GetUtcNow();
                looks.Writer.TryWrite(now);
                return ValueTask.FromResult<(IReadOnlyList<IQueueLease>, DateTimeOffset?)>(([], now == Start ? Start + TimeSpan.FromSeconds(10) : null));
            },
            maxWait: TimeSpan.FromSeconds(30),
            idleCheck: TimeSpan.FromMinutes(1),
            time,
            CancellationToken.None).AsTask();

        Assert.Equal(Start, await looks.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        await WaitForTimerAsync(time);
        Assert.False(looks.Reader.TryRead(out _), "The receive looked again while the clock stood still.");

        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(Start + TimeSpan.FromSeconds(10), await looks.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        await WaitForTimerAsync(time);
        time.Advance(TimeSpan.FromSeconds(20));

        Assert.Empty(await receive.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(Start + TimeSpan.FromSeconds(30), await looks.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
    }

    /// <summary>Waits until the receive has armed its next timer.</summary>
    private static async Task WaitForTimerAsync(MovesBeforeNextTimer time) =>
        Assert.True(await time.TimersArmed.WaitAsync(TimeSpan.FromSeconds(10)), "The receive did not arm a timer.");

    /// <summary>A fake clock that, when asked, moves on by <see cref="Step"/> just before it arms the next timer.</summary>
    private sealed class MovesBeforeNextTimer(DateTimeOffset start) : FakeTimeProvider(start)
    {
        public TimeSpan Step { get; init; }

        public bool MoveBeforeNextTimer { get; set; }

        /// <summary>Counts up once for each timer armed.</summary>
        public SemaphoreSlim TimersArmed { get; } = new(0);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            if (MoveBeforeNextTimer)
            {
                MoveBeforeNextTimer = false;
                Advance(Step);
            }

            var timer = base.CreateTimer(callback, state, dueTime, period);
            TimersArmed.Release();
            return timer;
        }
    }
}
