using MediaGen.Generators.Http;
using Microsoft.Extensions.Time.Testing;

namespace MediaGen.Generators.Http.Tests;

public sealed class ProviderRateGateTests
{
    [Fact]
    public async Task WaitAsync_NoPause_ReturnsAtOnce()
    {
        var gate = new ProviderRateGate(new FakeTimeProvider());

        await gate.WaitAsync(CancellationToken.None);

        Assert.Null(gate.PausedUntil);
    }

    [Fact]
    public async Task Pause_ShorterPauseAfterALongerOne_KeepsTheLongerOne()
    {
        var time = new FakeTimeProvider();
        var gate = new ProviderRateGate(time);

        var until = gate.Pause(TimeSpan.FromSeconds(20));
        gate.Pause(TimeSpan.FromSeconds(5));
        var waiting = gate.WaitAsync(CancellationToken.None).AsTask();
        time.Advance(TimeSpan.FromSeconds(19));

        Assert.Equal(until, gate.PausedUntil);
        Assert.False(waiting.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Null(gate.PausedUntil);
    }

    [Fact]
    public async Task WaitAsync_PauseExtendedWhileWaiting_WaitsForTheNewEnd()
    {
        var time = new FakeTimeProvider();
        var gate = new ProviderRateGate(time);
        gate.Pause(TimeSpan.FromSeconds(10));
        var waiting = gate.WaitAsync(CancellationToken.None).AsTask();

        time.Advance(TimeSpan.FromSeconds(5));
        gate.Pause(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(5));

        Assert.False(waiting.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(5));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task WaitAsync_Canceled_Throws()
    {
        var gate = new ProviderRateGate(new FakeTimeProvider());
        gate.Pause(TimeSpan.FromMinutes(1));
        using var cancel = new CancellationTokenSource();

        var waiting = gate.WaitAsync(cancel.Token).AsTask();
        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(0, gate.WaiterCount);
    }
}
