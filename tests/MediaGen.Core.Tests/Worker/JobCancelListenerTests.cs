using MediaGen.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;

namespace MediaGen.Core.Tests.Worker;

/// <summary>The worker's cancel listener: it subscribes before the worker starts, keeps trying while the backend is down, and stops cleanly.</summary>
public sealed class JobCancelListenerTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

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
        signal.SubscribeAsync(Arg.Any<Action<string>>(), Arg.Any<CancellationToken>()).Returns(call => ++tries <= 2
            ? ValueTask.FromException<IAsyncDisposable>(new QueueUnavailableException("Redis is down."))
            : inner.SubscribeAsync(call.Arg<Action<string>>(), call.Arg<CancellationToken>()));
        var registry = new JobCancellationRegistry(_time);
        var attempt = Substitute.For<IRunningAttempt>();
        registry.Register("job-1", attempt);
        var listener = Listener(signal, registry);

        await listener.StartAsync(CancellationToken.None);
        Assert.Equal(1, tries);
        var waited = await AdvanceUntilAsync(() => tries == 3);
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

    /// <summary>Moves the clock a second at a time, letting the listener react in between, until <paramref name="condition"/> holds.</summary>
    private async Task<TimeSpan> AdvanceUntilAsync(Func<bool> condition)
    {
        var moved = TimeSpan.Zero;
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            moved += TimeSpan.FromSeconds(1);
            await Task.Delay(20, limit.Token);
        }

        return moved;
    }
}
