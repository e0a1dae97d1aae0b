namespace MediaGen.Core.Tests.Worker;

public sealed class AttemptClockTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Schedule_OutOfOrder_EachComesDueAtItsTimeInDueOrder()
    {
        using var clock = new AttemptClock(_time);
        var fired = new List<string>();
        var now = _time.GetUtcNow();
        clock.Schedule(new Recorder("late", fired), now.AddSeconds(30));
        clock.Schedule(new Recorder("early", fired), now.AddSeconds(10));
        clock.Schedule(new Recorder("middle", fired), now.AddSeconds(20));

        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.Empty(fired);
        _time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(["early", "middle"], fired);
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(["early", "middle", "late"], fired);
    }

    [Fact]
    public void Cancel_BeforeItIsDue_NeverComesDue()
    {
        using var clock = new AttemptClock(_time);
        var fired = new List<string>();
        var now = _time.GetUtcNow();
        var canceled = new Recorder("canceled", fired);
        clock.Schedule(canceled, now.AddSeconds(10));
        clock.Schedule(new Recorder("kept", fired), now.AddSeconds(20));

        clock.Cancel(canceled);
        _time.Advance(TimeSpan.FromSeconds(30));

        Assert.Equal(["kept"], fired);
    }

    [Fact]
    public void Schedule_AgainEarlier_ComesDueOnceAtTheNewTime()
    {
        using var clock = new AttemptClock(_time);
        var fired = new List<string>();
        var now = _time.GetUtcNow();
        var entry = new Recorder("moved", fired);
        clock.Schedule(entry, now.AddSeconds(30));

        clock.Schedule(entry, now.AddSeconds(5));
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(["moved"], fired);
        _time.Advance(TimeSpan.FromSeconds(30));

        Assert.Equal(["moved"], fired);
    }

    private sealed class Recorder(string name, List<string> fired) : AttemptClockEntry
    {
        public override void OnClockDue() => fired.Add(name);
    }
}
