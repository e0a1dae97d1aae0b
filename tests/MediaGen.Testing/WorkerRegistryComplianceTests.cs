namespace MediaGen.Testing;

/// <summary>
/// The <see cref="IWorkerRegistry"/> contract, written once: a heartbeat recorded by one client (process) is listed by
/// every other, a newer heartbeat replaces the older, a removed or expired worker is no longer listed.
/// </summary>
public abstract class WorkerRegistryComplianceTests : ComplianceTestBase
{
    /// <summary>Creates a fresh, isolated registry whose clock is <see cref="ComplianceTestBase.Time"/>.</summary>
    /// <returns>The registry.</returns>
    protected abstract ValueTask<IWorkerRegistry> CreateRegistryAsync();

    /// <summary>Creates a second client of the same registry, as another process would hold; the default returns the same instance.</summary>
    /// <param name="registry">A registry from <see cref="CreateRegistryAsync"/>.</param>
    /// <returns>The peer client.</returns>
    protected virtual ValueTask<IWorkerRegistry> CreatePeerRegistryAsync(IWorkerRegistry registry) => ValueTask.FromResult(registry);

    [ComplianceFact]
    public async Task ListAsync_NoWorker_IsEmpty()
    {
        var registry = Track(await CreateRegistryAsync());

        Assert.Empty(await registry.ListAsync(Time.GetUtcNow()));
    }

    [ComplianceFact]
    public async Task HeartbeatAsync_OnOneClient_IsListedByThePeer()
    {
        var registry = Track(await CreateRegistryAsync());
        var peer = Track(await CreatePeerRegistryAsync(registry));
        var beat = Heartbeat("host-a:10:1", running: 3);

        await peer.HeartbeatAsync(beat);

        Assert.Equal([beat], await registry.ListAsync(Time.GetUtcNow()));
    }

    [ComplianceFact]
    public async Task HeartbeatAsync_Again_ReplacesThePrevious()
    {
        var registry = Track(await CreateRegistryAsync());
        await registry.HeartbeatAsync(Heartbeat("host-a:10:1", running: 1));
        Time.Advance(TimeSpan.FromSeconds(10));
        var second = Heartbeat("host-a:10:1", running: 5);

        await registry.HeartbeatAsync(second);

        Assert.Equal([second], await registry.ListAsync(Time.GetUtcNow()));
    }

    [ComplianceFact]
    public async Task ListAsync_ManyWorkers_ListsEachByIdAndLeavesOutTheExpired()
    {
        var registry = Track(await CreateRegistryAsync());
        var peer = Track(await CreatePeerRegistryAsync(registry));
        var b = Heartbeat("host-b:2:1");
        var a = Heartbeat("host-a:1:1");
        var dying = Heartbeat("host-c:3:1", lifetime: TimeSpan.FromSeconds(5));
        await registry.HeartbeatAsync(b);
        await peer.HeartbeatAsync(a);
        await peer.HeartbeatAsync(dying);

        Assert.Equal([a, b, dying], await registry.ListAsync(Time.GetUtcNow()));
        Time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal([a, b], await peer.ListAsync(Time.GetUtcNow()));
    }

    [ComplianceFact]
    public async Task RemoveAsync_Worker_IsNoLongerListed()
    {
        var registry = Track(await CreateRegistryAsync());
        var peer = Track(await CreatePeerRegistryAsync(registry));
        var kept = Heartbeat("host-a:1:1");
        await registry.HeartbeatAsync(kept);
        await registry.HeartbeatAsync(Heartbeat("host-a:1:2"));

        await peer.RemoveAsync("host-a:1:2");
        await peer.RemoveAsync("never-seen");

        Assert.Equal([kept], await registry.ListAsync(Time.GetUtcNow()));
    }

    private WorkerHeartbeat Heartbeat(string id, int running = 0, TimeSpan? lifetime = null)
    {
        var now = Time.GetUtcNow();
        return new WorkerHeartbeat
        {
            WorkerId = id,
            Host = id.Split(':')[0],
            ProcessId = 42,
            StartedAt = now.AddMinutes(-1),
            LastHeartbeatAt = now,
            ExpiresAt = now + (lifetime ?? TimeSpan.FromSeconds(30)),
            Concurrency = 16,
            Running = running,
        };
    }
}
