namespace MediaGen.Testing;

/// <summary>
/// The <see cref="IProviderPauseStore"/> contract, written once: what a backend must provide for one 429 to pause a
/// provider for every worker. A deadline recorded by one client (process) is read by every other; it only moves later,
/// however many clients extend it at once; providers are independent; and a deadline is kept to the millisecond.
/// </summary>
public abstract class ProviderPauseStoreComplianceTests : ComplianceTestBase
{
    /// <summary>Creates a fresh, isolated store whose clock is <see cref="ComplianceTestBase.Time"/>.</summary>
    /// <returns>The store.</returns>
    protected abstract ValueTask<IProviderPauseStore> CreateStoreAsync();

    /// <summary>
    /// Creates a second client of the same store, as another process of a distributed deployment would hold. The
    /// default returns the same instance.
    /// </summary>
    /// <param name="store">A store from <see cref="CreateStoreAsync"/>.</param>
    /// <returns>The peer client.</returns>
    protected virtual ValueTask<IProviderPauseStore> CreatePeerStoreAsync(IProviderPauseStore store) => ValueTask.FromResult(store);

    [ComplianceFact]
    public async Task GetAsync_NeverPaused_ReturnsNull()
    {
        var store = await NewStoreAsync();

        Assert.Null(await store.GetAsync("replicate"));
    }

    [ComplianceFact]
    public async Task ExtendAsync_FirstPause_RecordsAndReturnsTheDeadline()
    {
        var store = await NewStoreAsync();
        var until = Time.GetUtcNow().AddSeconds(30);

        Assert.Equal(until, await store.ExtendAsync("replicate", until));
        Assert.Equal(until, await store.GetAsync("replicate"));
    }

    [ComplianceFact]
    public async Task ExtendAsync_OnOneClient_IsReadByThePeer()
    {
        var store = await NewStoreAsync();
        var peer = await NewPeerAsync(store);
        var until = Time.GetUtcNow().AddSeconds(45);

        await peer.ExtendAsync("replicate", until);

        Assert.Equal(until, await store.GetAsync("replicate"));
    }

    [ComplianceFact]
    public async Task ExtendAsync_EarlierDeadline_KeepsAndReturnsTheLaterOne()
    {
        var store = await NewStoreAsync();
        var peer = await NewPeerAsync(store);
        var later = Time.GetUtcNow().AddMinutes(2);

        await store.ExtendAsync("replicate", later);
        var answered = await peer.ExtendAsync("replicate", Time.GetUtcNow().AddSeconds(10));

        Assert.Equal(later, answered);
        Assert.Equal(later, await store.GetAsync("replicate"));
    }

    [ComplianceFact]
    public async Task ExtendAsync_LaterDeadline_Extends()
    {
        var store = await NewStoreAsync();
        var peer = await NewPeerAsync(store);
        await store.ExtendAsync("replicate", Time.GetUtcNow().AddSeconds(10));
        var later = Time.GetUtcNow().AddSeconds(50);

        Assert.Equal(later, await peer.ExtendAsync("replicate", later));
        Assert.Equal(later, await store.GetAsync("replicate"));
    }

    [ComplianceFact]
    public async Task ExtendAsync_OneProvider_LeavesTheOthersUnpaused()
    {
        var store = await NewStoreAsync();
        var until = Time.GetUtcNow().AddSeconds(30);

        await store.ExtendAsync("replicate", until);

        Assert.Null(await store.GetAsync("huggingface"));
        Assert.Null(await store.GetAsync("replicate-2"));
        Assert.Equal(until, await store.GetAsync("replicate"));
    }

    [ComplianceFact]
    public async Task ExtendAsync_SubMillisecondDeadline_IsNeverReadEarlier()
    {
        var store = await NewStoreAsync();
        var until = Time.GetUtcNow().AddSeconds(30).AddTicks(4_321);

        var answered = await store.ExtendAsync("replicate", until);
        var read = await store.GetAsync("replicate");

        Assert.True(answered >= until, $"The store answered {answered:O} for a deadline of {until:O}.");
        Assert.True(read >= until, $"The store reads {read:O} for a deadline of {until:O}.");
        Assert.True(read - until < TimeSpan.FromMilliseconds(1), $"The store reads {read:O} for a deadline of {until:O}.");
    }

    [ComplianceFact]
    public async Task ExtendAsync_ManyClientsAtOnce_TheLatestDeadlineWins()
    {
        var store = await NewStoreAsync();
        var peer = await NewPeerAsync(store);
        var start = Time.GetUtcNow();
        var deadlines = Enumerable.Range(1, 40).Select(i => start.AddMilliseconds(((i * 7919) % 40 + 1) * 1000)).ToList();

        var answers = await Task.WhenAll(deadlines.Select((until, i) => Task.Run(async () => await (i % 2 == 0 ? store : peer).ExtendAsync("replicate", until))));

        var latest = deadlines.Max();
        Assert.Equal(latest, await store.GetAsync("replicate"));
        Assert.Equal(latest, await peer.GetAsync("replicate"));
        Assert.All(answers.Zip(deadlines), pair => Assert.True(pair.First >= pair.Second, $"Extending to {pair.Second:O} answered the earlier {pair.First:O}."));
    }

    [ComplianceFact]
    public async Task ExtendAsync_EmptyProvider_ThrowsArgumentException()
    {
        var store = await NewStoreAsync();

        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.ExtendAsync(string.Empty, Time.GetUtcNow()).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.GetAsync(string.Empty).AsTask());
    }

    /// <summary>Creates a tracked store.</summary>
    /// <returns>The store.</returns>
    protected async Task<IProviderPauseStore> NewStoreAsync() => Track(await CreateStoreAsync());

    /// <summary>Creates a tracked peer of <paramref name="store"/>.</summary>
    /// <param name="store">The store.</param>
    /// <returns>The peer.</returns>
    protected async Task<IProviderPauseStore> NewPeerAsync(IProviderPauseStore store) => Track(await CreatePeerStoreAsync(store));
}
