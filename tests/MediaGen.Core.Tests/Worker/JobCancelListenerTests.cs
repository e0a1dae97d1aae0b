namespace MediaGen.Core.Tests.Worker;

/// <summary>The worker's cancel listener: it subscribes before the worker starts, keeps trying while the backend is down, and stops cleanly.</summary>
public sealed class JobCancelListenerTests
{
    private readonly ObservedTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task StartAsync_SignalHeard_AbortsTheAttemptRunningHere()
    {
        var signal = new InMemoryJobCancelSignal();
        var registry = new JobCancellationRegistry(_time);
        var attempt = Substitute.For<IRunningAttempt>();
        registry.Register("job-1", attempt);
        var listener = Listener(signal, registry);

        await listener.StartAsync(CancellationToken.None);
        await signal.PublishAsync("job-1");
        await signal.PublishAsync("job-2");

        attempt.Received(1).Abort();
        await listener.StopAsync(CancellationToken.None);
        await signal.PublishAsync("job-1");
        attempt.Received(1).Abort();
        listener.Dispose();
    }

    [Fact]
    public async Task StartAsync_BackendUnreachable_KeepsTryingAndHearsSignalsOnceSubscribed()
    {
        var inner = new InMemoryJobCancelSignal();
        var signal = Substitute.For<IJobCancelSignal>();
        var tries = 0;
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        signal.SubscribeAsync(Arg.Any<Action<string>>(), Arg.Any<CancellationToken>()).Returns(call =>
        {
            if (++tries <= 2)
            {
                return ValueTask.FromException<IAsyncDisposable>(new QueueUnavailableException("Redis is down."));
            }

            var subscription = inner.SubscribeAsync(call.Arg<Action<string>>(), call.Arg<CancellationToken>());
            subscribed.TrySetResult();
            return subscription;
        });
        var registry = new JobCancellationRegistry(_time);
        var attempt = Substitute.For<IRunningAttempt>();
        registry.Register("job-1", attempt);
        var listener = Listener(signal, registry);

        await listener.StartAsync(CancellationToken.None);
        Assert.Equal(1, tries);
        // The clock moves a second at a time whenever the listener waits on it, until its third try subscribes.
        var waited = await _time.AdvanceUntilDoneAsync(subscribed.Task, TimeSpan.FromSeconds(1), TimeSpan.Zero, () => { });
        await inner.PublishAsync("job-1");

        Assert.True(waited >= TimeSpan.FromSeconds(3), $"The listener tried three times within {waited}; its backoff is 1 s, then 2 s.");

        attempt.Received(1).Abort();
        await listener.StopAsync(CancellationToken.None);
        listener.Dispose();
    }

    [Fact]
    public async Task StopAsync_AfterTheContainerDisposedTheListener_DoesNotThrow()
    {
        // A host's own shutdown can dispose its services while the host still calls StopAsync on them.
        var listener = Listener(new InMemoryJobCancelSignal(), new JobCancellationRegistry(_time));
        await listener.StartAsync(CancellationToken.None);

        listener.Dispose();

        await listener.StopAsync(CancellationToken.None);
        listener.Dispose();
    }

    private JobCancelListener Listener(IJobCancelSignal signal, JobCancellationRegistry registry) =>
        new(signal, registry, _time, NullLogger<JobCancelListener>.Instance);
}
