namespace MediaGen.Testing;

/// <summary>
/// The <see cref="IResultCacheIndex"/> contract, written once: what a backend must provide for the result cache. An entry
/// written by one client (process) is read by every other; it is served for its time to live on the implementation's
/// clock and not after; a write replaces; a remove takes out only an entry that still names the given job; keys are
/// independent.
/// </summary>
public abstract class ResultCacheIndexComplianceTests : ComplianceTestBase
{
    private static readonly string KeyA = new('a', 64);
    private static readonly string KeyB = new('b', 64);

    /// <summary>Creates a fresh, isolated index whose clock is <see cref="ComplianceTestBase.Time"/>.</summary>
    /// <returns>The index.</returns>
    protected abstract ValueTask<IResultCacheIndex> CreateIndexAsync();

    /// <summary>
    /// Creates a second client of the same index, as another process of a distributed deployment would hold. The default
    /// returns the same instance.
    /// </summary>
    /// <param name="index">An index from <see cref="CreateIndexAsync"/>.</param>
    /// <returns>The peer client.</returns>
    protected virtual ValueTask<IResultCacheIndex> CreatePeerIndexAsync(IResultCacheIndex index) => ValueTask.FromResult(index);

    [ComplianceFact]
    public async Task GetAsync_NeverSet_ReturnsNull()
    {
        var index = await NewIndexAsync();

        Assert.Null(await index.GetAsync(KeyA));
    }

    [ComplianceFact]
    public async Task SetAsync_OnOneClient_IsReadByThePeer()
    {
        var index = await NewIndexAsync();
        var peer = await NewPeerAsync(index);

        await index.SetAsync(KeyA, "job-1", TimeSpan.FromHours(1));

        Assert.Equal("job-1", await peer.GetAsync(KeyA));
        Assert.Equal("job-1", await index.GetAsync(KeyA));
    }

    [ComplianceFact]
    public async Task SetAsync_Again_ReplacesTheJob()
    {
        var index = await NewIndexAsync();
        var peer = await NewPeerAsync(index);
        await index.SetAsync(KeyA, "job-1", TimeSpan.FromHours(1));

        await peer.SetAsync(KeyA, "job-2", TimeSpan.FromHours(1));

        Assert.Equal("job-2", await index.GetAsync(KeyA));
    }

    [ComplianceFact]
    public async Task GetAsync_AfterTheTimeToLive_ReturnsNull()
    {
        var index = await NewIndexAsync();
        await index.SetAsync(KeyA, "job-1", TimeSpan.FromHours(1));

        Time.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal("job-1", await index.GetAsync(KeyA));

        Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Null(await index.GetAsync(KeyA));
    }

    [ComplianceFact]
    public async Task SetAsync_AfterExpiry_ServesAgainForTheNewTimeToLive()
    {
        var index = await NewIndexAsync();
        await index.SetAsync(KeyA, "job-1", TimeSpan.FromMinutes(10));
        Time.Advance(TimeSpan.FromMinutes(11));

        await index.SetAsync(KeyA, "job-2", TimeSpan.FromMinutes(10));

        Assert.Equal("job-2", await index.GetAsync(KeyA));
    }

    [ComplianceFact]
    public async Task RemoveAsync_NamingTheJob_RemovesTheEntry()
    {
        var index = await NewIndexAsync();
        var peer = await NewPeerAsync(index);
        await index.SetAsync(KeyA, "job-1", TimeSpan.FromHours(1));

        Assert.True(await peer.RemoveAsync(KeyA, "job-1"));

        Assert.Null(await index.GetAsync(KeyA));
        Assert.False(await index.RemoveAsync(KeyA, "job-1"));
    }

    [ComplianceFact]
    public async Task RemoveAsync_NamingAnotherJob_KeepsTheNewerEntry()
    {
        var index = await NewIndexAsync();
        await index.SetAsync(KeyA, "job-1", TimeSpan.FromHours(1));
        await index.SetAsync(KeyA, "job-2", TimeSpan.FromHours(1));

        Assert.False(await index.RemoveAsync(KeyA, "job-1"));

        Assert.Equal("job-2", await index.GetAsync(KeyA));
    }

    [ComplianceFact]
    public async Task RemoveAsync_JobIdThatEndsLikeTheEntry_KeepsIt()
    {
        var index = await NewIndexAsync();
        await index.SetAsync(KeyA, "job-12", TimeSpan.FromHours(1));

        Assert.False(await index.RemoveAsync(KeyA, "2"));
        Assert.False(await index.RemoveAsync(KeyA, "job-1"));

        Assert.Equal("job-12", await index.GetAsync(KeyA));
    }

    [ComplianceFact]
    public async Task Keys_AreIndependent()
    {
        var index = await NewIndexAsync();
        await index.SetAsync(KeyA, "job-1", TimeSpan.FromHours(1));
        await index.SetAsync(KeyB, "job-2", TimeSpan.FromHours(1));

        await index.RemoveAsync(KeyA, "job-1");

        Assert.Null(await index.GetAsync(KeyA));
        Assert.Equal("job-2", await index.GetAsync(KeyB));
    }

    [ComplianceFact]
    public async Task ManyClientsAtOnce_EveryEntryIsReadBack()
    {
        var index = await NewIndexAsync();
        var peer = await NewPeerAsync(index);
        var keys = Enumerable.Range(0, 40).Select(i => i.ToString("x64", System.Globalization.CultureInfo.InvariantCulture)).ToList();

        await Task.WhenAll(keys.Select((key, i) => Task.Run(async () => await (i % 2 == 0 ? index : peer).SetAsync(key, "job-" + i, TimeSpan.FromHours(1)))));

        for (var i = 0; i < keys.Count; i++)
        {
            Assert.Equal("job-" + i, await (i % 2 == 0 ? peer : index).GetAsync(keys[i]));
        }
    }

    [ComplianceFact]
    public async Task InvalidArguments_Throw()
    {
        var index = await NewIndexAsync();

        await Assert.ThrowsAnyAsync<ArgumentException>(() => index.GetAsync(string.Empty).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => index.SetAsync(string.Empty, "job-1", TimeSpan.FromHours(1)).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => index.SetAsync(KeyA, string.Empty, TimeSpan.FromHours(1)).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentOutOfRangeException>(() => index.SetAsync(KeyA, "job-1", TimeSpan.Zero).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => index.RemoveAsync(KeyA, string.Empty).AsTask());
        Assert.Null(await index.GetAsync(KeyA));
    }

    /// <summary>Creates a tracked index.</summary>
    /// <returns>The index.</returns>
    protected async Task<IResultCacheIndex> NewIndexAsync() => Track(await CreateIndexAsync());

    /// <summary>Creates a tracked peer of <paramref name="index"/>.</summary>
    /// <param name="index">The index.</param>
    /// <returns>The peer.</returns>
    protected async Task<IResultCacheIndex> NewPeerAsync(IResultCacheIndex index) => Track(await CreatePeerIndexAsync(index));
}
