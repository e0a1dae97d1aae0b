namespace MediaGen.Core.Tests.Worker;

/// <summary>How a cancel signal finds the attempt it is for, including one that arrives before the attempt registers.</summary>
public sealed class JobCancellationRegistryTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public void TryCancel_AttemptRunningHere_AbortsIt()
    {
        var registry = new JobCancellationRegistry(_time);
        var attempt = Substitute.For<IRunningAttempt>();
        var other = Substitute.For<IRunningAttempt>();
        registry.Register("job-1", attempt);
        registry.Register("job-2", other);

        Assert.True(registry.TryCancel("job-1"));

        attempt.Received(1).Abort();
        other.DidNotReceive().Abort();
    }

    [Fact]
    public void TryCancel_SignalBeforeTheAttemptRegisters_AbortsTheAttemptAsItRegisters()
    {
        var registry = new JobCancellationRegistry(_time);
        var attempt = Substitute.For<IRunningAttempt>();

        Assert.False(registry.TryCancel("job-1"));
        _time.Advance(JobCancellationRegistry.EarlySignalWindow - TimeSpan.FromSeconds(1));
        registry.Register("job-1", attempt);

        attempt.Received(1).Abort();
    }

    [Fact]
    public void Register_SignalOlderThanTheWindow_IsForgotten()
    {
        var registry = new JobCancellationRegistry(_time);
        var attempt = Substitute.For<IRunningAttempt>();

        registry.TryCancel("job-1");
        _time.Advance(JobCancellationRegistry.EarlySignalWindow);
        registry.Register("job-1", attempt);

        attempt.DidNotReceive().Abort();
    }

    [Fact]
    public void Register_EarlySignalIsTakenOnce_ALaterAttemptIsNotAborted()
    {
        var registry = new JobCancellationRegistry(_time);
        var first = Substitute.For<IRunningAttempt>();
        var second = Substitute.For<IRunningAttempt>();

        registry.TryCancel("job-1");
        registry.Register("job-1", first);
        registry.Unregister("job-1", first);
        registry.Register("job-1", second);

        first.Received(1).Abort();
        second.DidNotReceive().Abort();
    }

    [Fact]
    public void TryCancel_ManySignalsForJobsElsewhere_ForgetsThemAfterTheWindow()
    {
        var registry = new JobCancellationRegistry(_time);
        for (var i = 0; i < 200; i++)
        {
            registry.TryCancel($"elsewhere-{i}");
        }

        _time.Advance(JobCancellationRegistry.EarlySignalWindow);
        registry.TryCancel("late");

        Assert.Equal(1, registry.RememberedSignals);
        var attempt = Substitute.For<IRunningAttempt>();
        registry.Register("elsewhere-7", attempt);

        attempt.DidNotReceive().Abort();
    }

    [Fact]
    public void StopAll_StopsEveryAttemptForShutdownWithoutAbortingTheJobs()
    {
        var registry = new JobCancellationRegistry(_time);
        var first = Substitute.For<IRunningAttempt>();
        var second = Substitute.For<IRunningAttempt>();
        registry.Register("job-1", first);
        registry.Register("job-2", second);

        registry.StopAll();

        first.Received(1).StopForShutdown();
        second.Received(1).StopForShutdown();
        first.DidNotReceive().Abort();
    }
}
