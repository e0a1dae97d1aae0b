namespace MediaGen.Core.Tests;

/// <summary>
/// The one rate gate, on a fake clock. Two gates over one pause store stand for two processes sharing a backend: a pause
/// either sets holds for the other, and only ever extends.
/// </summary>
public sealed class ProviderRateGateTests
{
    private const string Provider = "replicate";
    // Observed, so a test can wait for a woken wait to arm its next timer: under xUnit's synchronization context a timer's
    // continuation runs on the thread pool, not inline in Advance, and could otherwise read the clock before a later move
    // and arm its timer after it.
    private readonly ObservedTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly InMemoryProviderPauseStore _shared = new();

    [Fact]
    public async Task WaitAsync_NoPause_ReturnsAtOnce()
    {
        var gate = Gate();

        await gate.WaitAsync(Provider).AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Null(await gate.GetPausedUntilAsync(Provider));
    }

    [Fact]
    public async Task PauseAsync_ShorterPauseAfterALongerOne_KeepsTheLongerOne()
    {
        var gate = Gate();

        var until = await gate.PauseAsync(Provider, TimeSpan.FromSeconds(20));
        Assert.Equal(until, await gate.PauseAsync(Provider, TimeSpan.FromSeconds(5)));
        var waiting = gate.WaitAsync(Provider).AsTask();
        _time.Advance(TimeSpan.FromSeconds(19));

        Assert.Equal(until, await gate.GetPausedUntilAsync(Provider));
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Null(await gate.GetPausedUntilAsync(Provider));
    }

    [Fact]
    public async Task WaitAsync_PauseExtendedWhileWaiting_WaitsForTheNewEnd()
    {
        var gate = Gate();
        await gate.PauseAsync(Provider, TimeSpan.FromSeconds(10));
        var waiting = gate.WaitAsync(Provider).AsTask();

        _time.Advance(TimeSpan.FromSeconds(5));
        await gate.PauseAsync(Provider, TimeSpan.FromSeconds(10));
        _time.Advance(TimeSpan.FromSeconds(5));

        // Woken at the first end, it read the extended pause and waits for the rest.
        await _time.WaitForTimersAsync(1, TimeSpan.FromSeconds(5));
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(5));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task WaitAsync_Canceled_Throws()
    {
        var gate = Gate();
        await gate.PauseAsync(Provider, TimeSpan.FromMinutes(1));
        using var cancel = new CancellationTokenSource();

        var waiting = gate.WaitAsync(Provider, cancel.Token).AsTask();
        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(0, gate.WaiterCount);
    }

    [Fact]
    public async Task PauseAsync_OneProvider_LeavesTheOthersFree()
    {
        var gate = Gate();

        await gate.PauseAsync(Provider, TimeSpan.FromMinutes(1));

        Assert.Null(await gate.GetPausedUntilAsync("huggingface"));
        await gate.WaitAsync("huggingface").AsTask().WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task GetRecentPauseAsync_ReadsTheStoreAtMostOnceASecondButSeesItsOwnPauseAtOnce()
    {
        var here = Gate();
        var there = Gate();
        Assert.Null(await here.GetRecentPauseAsync(Provider, CancellationToken.None));

        // Another process's pause shows after the last read has aged; WaitAsync, which guards the calls, sees it at once.
        var until = await there.PauseAsync(Provider, TimeSpan.FromSeconds(30));
        Assert.Null(await here.GetRecentPauseAsync(Provider, CancellationToken.None));
        Assert.Equal(until, await here.GetPausedUntilAsync(Provider));
        _time.Advance(ProviderRateGate.RecentReadAge);
        Assert.Equal(until, await here.GetRecentPauseAsync(Provider, CancellationToken.None));

        // A pause this process sets holds in its own recent answer without a read.
        var other = "huggingface";
        Assert.Null(await here.GetRecentPauseAsync(other, CancellationToken.None));
        var own = await here.PauseAsync(other, TimeSpan.FromSeconds(5));
        Assert.Equal(own, await here.GetRecentPauseAsync(other, CancellationToken.None));
    }

    [Fact]
    public async Task WaitAsync_AnotherProcessPausedTheProvider_WaitsUntilItsDeadline()
    {
        var here = Gate();
        var there = Gate();

        var until = await there.PauseAsync(Provider, TimeSpan.FromSeconds(30));
        var waiting = here.WaitAsync(Provider).AsTask();
        _time.Advance(TimeSpan.FromSeconds(29));

        Assert.Equal(until, await here.GetPausedUntilAsync(Provider));
        Assert.False(waiting.IsCompleted);
        Assert.Equal(1, here.WaiterCount);
        _time.Advance(TimeSpan.FromSeconds(1));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task WaitAsync_AnotherProcessExtendsThePauseWhileThisOneWaits_WaitsForTheNewEnd()
    {
        var here = Gate();
        var there = Gate();
        await here.PauseAsync(Provider, TimeSpan.FromSeconds(10));
        var waiting = here.WaitAsync(Provider).AsTask();

        _time.Advance(TimeSpan.FromSeconds(5));
        var extended = await there.PauseAsync(Provider, TimeSpan.FromSeconds(20));
        _time.Advance(TimeSpan.FromSeconds(5));

        // Woken at the first deadline, it read the extended pause and waits for the rest.
        await _time.WaitForTimersAsync(1, TimeSpan.FromSeconds(15));
        Assert.False(waiting.IsCompleted, "The wait ended at the first deadline although another process extended the pause.");
        Assert.Equal(extended, await here.GetPausedUntilAsync(Provider));
        _time.Advance(TimeSpan.FromSeconds(15));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task PauseAsync_ShorterPauseFromAnotherProcess_KeepsTheLongerOne()
    {
        var here = Gate();
        var there = Gate();

        var longer = await here.PauseAsync(Provider, TimeSpan.FromMinutes(2));
        var answered = await there.PauseAsync(Provider, TimeSpan.FromSeconds(10));

        Assert.Equal(longer, answered);
        Assert.Equal(longer, await _shared.GetAsync(Provider));
    }

    [Fact]
    public async Task PauseAsync_StoreUnreachable_StillPausesThisProcess()
    {
        var store = Substitute.For<IProviderPauseStore>();
        var down = new QueueUnavailableException("Redis is down.");
        store.ExtendAsync(default!, default, default).ReturnsForAnyArgs(ValueTask.FromException<DateTimeOffset>(down));
        store.GetAsync(default!, default).ReturnsForAnyArgs(ValueTask.FromException<DateTimeOffset?>(down));
        var gate = new ProviderRateGate(store, _time, NullLogger<ProviderRateGate>.Instance);

        var until = await gate.PauseAsync(Provider, TimeSpan.FromSeconds(30));
        var waiting = gate.WaitAsync(Provider).AsTask();
        _time.Advance(TimeSpan.FromSeconds(29));

        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(1), until);
        Assert.Equal(until, await gate.GetPausedUntilAsync(Provider));
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task PauseAsync_LongerThanMaxPause_PausesForMaxPause()
    {
        var gate = Gate();

        var until = await gate.PauseAsync(Provider, TimeSpan.FromDays(60));

        Assert.Equal(_time.GetUtcNow() + ProviderRateGate.MaxPause, until);
        Assert.Equal(until, await _shared.GetAsync(Provider, default));
    }

    [Fact]
    public async Task WaitAsync_StoredPauseLongerThanMaxPause_FailsRateLimitedWithTheTimeLeft()
    {
        // Written uncapped (by an older version, say): Task.Delay cannot wait 60 days, and no call should.
        await _shared.ExtendAsync(Provider, _time.GetUtcNow() + TimeSpan.FromDays(60), default);
        var gate = Gate();

        var error = await Assert.ThrowsAsync<GenerationException>(() => gate.WaitAsync(Provider).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.True(error.IsRateLimited);
        Assert.Equal(TimeSpan.FromDays(60), error.RetryAfter);
        Assert.Equal(0, gate.WaiterCount);
    }

    [Fact]
    public async Task WaitAsync_PauseOfMaxPause_WaitsItOut()
    {
        var gate = Gate();
        await gate.PauseAsync(Provider, TimeSpan.FromDays(60));
        var waiting = gate.WaitAsync(Provider).AsTask();

        await _time.WaitForTimersAsync(1, ProviderRateGate.MaxPause);
        _time.Advance(ProviderRateGate.MaxPause - TimeSpan.FromSeconds(1));
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private ProviderRateGate Gate() => new(_shared, _time, NullLogger<ProviderRateGate>.Instance);
}
