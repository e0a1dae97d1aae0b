using System.Threading.Channels;

namespace MediaGen.Core.Tests.Worker;

public sealed class WorkerHeartbeatServiceTests
{
    [Fact]
    public async Task Heartbeats_EveryInterval_AndRemovesTheWorkerOnStop()
    {
        var time = new ObservedTimeProvider(new DateTimeOffset(2026, 4, 1, 8, 0, 0, TimeSpan.Zero));
        var start = time.GetUtcNow();
        var registry = new RecordingRegistry();
        var identity = new WorkerIdentity();
        var options = Options.Create(new MediaGenerationWorkerOptions { HeartbeatInterval = TimeSpan.FromSeconds(10), Concurrency = 4 });
        using var service = new WorkerHeartbeatService(registry, identity, new JobCancellationRegistry(time), options, time, NullLogger<WorkerHeartbeatService>.Instance);
        using var limit = new CancellationTokenSource(Waits.Limit);

        await service.StartAsync(CancellationToken.None);
        var first = await registry.Beats.Reader.ReadAsync(limit.Token);
        await time.WaitForTimersAsync(1, TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(10));
        var second = await registry.Beats.Reader.ReadAsync(limit.Token);

        Assert.Equal(identity.Id, first.WorkerId);
        Assert.Equal(Environment.ProcessId, first.ProcessId);
        Assert.Equal(4, first.Concurrency);
        Assert.Equal(start, first.StartedAt);
        Assert.Equal(start, first.LastHeartbeatAt);
        Assert.Equal(start.AddSeconds(30), first.ExpiresAt);
        Assert.Equal(start.AddSeconds(10), second.LastHeartbeatAt);
        Assert.Single(await registry.ListAsync(time.GetUtcNow()));

        await service.StopAsync(CancellationToken.None);

        Assert.Empty(await registry.ListAsync(time.GetUtcNow()));
    }

    private sealed class RecordingRegistry : IWorkerRegistry
    {
        private readonly InMemoryWorkerRegistry _inner = new();

        public Channel<WorkerHeartbeat> Beats { get; } = Channel.CreateUnbounded<WorkerHeartbeat>();

        public async ValueTask HeartbeatAsync(WorkerHeartbeat heartbeat, CancellationToken cancellationToken = default)
        {
            await _inner.HeartbeatAsync(heartbeat, cancellationToken);
            Beats.Writer.TryWrite(heartbeat);
        }

        public ValueTask RemoveAsync(string workerId, CancellationToken cancellationToken = default) => _inner.RemoveAsync(workerId, cancellationToken);

        public ValueTask<IReadOnlyList<WorkerHeartbeat>> ListAsync(DateTimeOffset now, CancellationToken cancellationToken = default) => _inner.ListAsync(now, cancellationToken);
    }
}
