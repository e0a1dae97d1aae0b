namespace MediaGen.Testing;

/// <summary>
/// The <see cref="IJobCancelSignal"/> contract, written once: what a backend must provide for an owner's cancel to reach
/// the worker running the job within moments. A signal published after <see cref="IJobCancelSignal.SubscribeAsync"/>
/// returned reaches that subscriber, whichever client (process) published it, including the subscriber's own; every
/// subscriber hears it; a disposed subscription hears nothing more. Every wait is bounded by <see cref="ComplianceTestBase.RealTimeout"/>.
/// </summary>
/// <remarks>
/// A backend whose transport reaches only its own process passes this suite with the default
/// <see cref="CreatePeerSignalAsync"/> (the same instance); one that shares a signal between processes returns a second
/// client of the same backend there, so the suite checks the signal crosses between them.
/// </remarks>
public abstract class JobCancelSignalComplianceTests : ComplianceTestBase
{
    /// <summary>Creates a fresh, isolated signal.</summary>
    /// <returns>The signal.</returns>
    protected abstract ValueTask<IJobCancelSignal> CreateSignalAsync();

    /// <summary>
    /// Creates a second client of the same signal, as another process of a distributed deployment would hold. The
    /// default returns the same instance.
    /// </summary>
    /// <param name="signal">A signal from <see cref="CreateSignalAsync"/>.</param>
    /// <returns>The peer client.</returns>
    protected virtual ValueTask<IJobCancelSignal> CreatePeerSignalAsync(IJobCancelSignal signal) => ValueTask.FromResult(signal);

    [ComplianceFact]
    public async Task PublishAsync_OnPeer_ReachesTheSubscriberOfTheFirst()
    {
        var signal = await NewSignalAsync();
        var peer = await NewPeerAsync(signal);
        var heard = new Heard();
        await using var subscription = await signal.SubscribeAsync(heard.Add);
        var jobId = NewJobId();

        await peer.PublishAsync(jobId);

        Assert.Equal([jobId], await heard.NextAsync(1, RealTimeout));
    }

    [ComplianceFact]
    public async Task PublishAsync_OnTheSubscribingClient_ReachesItsOwnSubscriber()
    {
        var signal = await NewSignalAsync();
        var heard = new Heard();
        await using var subscription = await signal.SubscribeAsync(heard.Add);
        var jobId = NewJobId();

        await signal.PublishAsync(jobId);

        Assert.Equal([jobId], await heard.NextAsync(1, RealTimeout));
    }

    [ComplianceFact]
    public async Task PublishAsync_SubscribersOnBothClients_EachHearsEverySignalOnce()
    {
        var signal = await NewSignalAsync();
        var peer = await NewPeerAsync(signal);
        var here = new Heard();
        var there = new Heard();
        await using var first = await signal.SubscribeAsync(here.Add);
        await using var second = await peer.SubscribeAsync(there.Add);
        var jobIds = Enumerable.Range(0, 20).Select(_ => NewJobId()).ToList();

        foreach (var (jobId, i) in jobIds.Select((id, i) => (id, i)))
        {
            await (i % 2 == 0 ? signal : peer).PublishAsync(jobId);
        }

        Assert.Equal(jobIds.Order(StringComparer.Ordinal), (await here.NextAsync(jobIds.Count, RealTimeout)).Order(StringComparer.Ordinal));
        Assert.Equal(jobIds.Order(StringComparer.Ordinal), (await there.NextAsync(jobIds.Count, RealTimeout)).Order(StringComparer.Ordinal));
        await AssertNothingMoreAsync(signal, [here, there]);
    }

    [ComplianceFact]
    public async Task SubscribeAsync_Disposed_HearsNothingMoreWhileOthersStillHear()
    {
        var signal = await NewSignalAsync();
        var peer = await NewPeerAsync(signal);
        var leaving = new Heard();
        var staying = new Heard();
        var subscription = await signal.SubscribeAsync(leaving.Add);
        await using var stays = await signal.SubscribeAsync(staying.Add);

        await subscription.DisposeAsync();
        var jobId = NewJobId();
        await peer.PublishAsync(jobId);

        Assert.Equal([jobId], await staying.NextAsync(1, RealTimeout));
        await AssertNothingMoreAsync(signal, [staying], leaving);
        await subscription.DisposeAsync();
    }

    [ComplianceFact]
    public async Task PublishAsync_NoSubscriber_Completes()
    {
        var signal = await NewSignalAsync();

        await WithinAsync(signal.PublishAsync(NewJobId()).AsTask(), "Publishing with no subscriber");
    }

    [ComplianceFact]
    public async Task PublishAsync_EmptyJobId_ThrowsArgumentException()
    {
        var signal = await NewSignalAsync();

        await Assert.ThrowsAnyAsync<ArgumentException>(() => signal.PublishAsync(string.Empty).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => signal.PublishAsync(null!).AsTask());
    }

    [ComplianceFact]
    public async Task SubscribeAsync_NullHandler_ThrowsArgumentNull()
    {
        var signal = await NewSignalAsync();

        await Assert.ThrowsAsync<ArgumentNullException>(() => signal.SubscribeAsync(null!).AsTask());
    }

    /// <summary>Creates a tracked signal.</summary>
    /// <returns>The signal.</returns>
    protected async Task<IJobCancelSignal> NewSignalAsync() => Track(await CreateSignalAsync());

    /// <summary>Creates a tracked peer of <paramref name="signal"/>.</summary>
    /// <param name="signal">The signal.</param>
    /// <returns>The peer.</returns>
    protected async Task<IJobCancelSignal> NewPeerAsync(IJobCancelSignal signal) => Track(await CreatePeerSignalAsync(signal));

    /// <summary>
    /// Shows that nobody heard more than was taken from them: a fence signal published after everything else must be
    /// the next thing each of <paramref name="listening"/> hears (a duplicate arriving before it fails the test), and
    /// the subscribers in <paramref name="disposed"/>, whose subscriptions ended before the last signals, heard nothing.
    /// </summary>
    private async Task AssertNothingMoreAsync(IJobCancelSignal signal, Heard[] listening, params Heard[] disposed)
    {
        var fence = NewJobId();
        await signal.PublishAsync(fence);
        foreach (var heard in listening)
        {
            Assert.Equal([fence], await heard.NextAsync(1, RealTimeout));
        }

        foreach (var heard in disposed)
        {
            var extra = heard.Drain();
            Assert.True(extra.Count == 0, $"A disposed subscription heard {extra.Count} signal(s): {string.Join(", ", extra)}.");
        }
    }

    /// <summary>What one subscriber heard, with bounded waits for more.</summary>
    private sealed class Heard
    {
        private readonly ConcurrentQueue<string> _ids = new();
        private readonly SemaphoreSlim _arrived = new(0);

        public void Add(string jobId)
        {
            _ids.Enqueue(jobId);
            _arrived.Release();
        }

        public async Task<List<string>> NextAsync(int count, TimeSpan timeout)
        {
            var taken = new List<string>(count);
            using var limit = new CancellationTokenSource(timeout);
            while (taken.Count < count)
            {
                try
                {
                    await _arrived.WaitAsync(limit.Token);
                }
                catch (OperationCanceledException)
                {
                    throw new XunitException($"Heard {taken.Count} of {count} signal(s) within {timeout.TotalSeconds:0} s of real time.");
                }

                Assert.True(_ids.TryDequeue(out var jobId));
                taken.Add(jobId);
            }

            return taken;
        }

        public List<string> Drain()
        {
            var rest = new List<string>();
            while (_ids.TryDequeue(out var jobId))
            {
                rest.Add(jobId);
            }

            return rest;
        }
    }
}
