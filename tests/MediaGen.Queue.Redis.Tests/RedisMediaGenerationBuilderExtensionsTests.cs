using Microsoft.Extensions.Hosting;

namespace MediaGen.Queue.Redis.Tests;

public sealed class RedisMediaGenerationBuilderExtensionsTests
{
    [Fact]
    public void UseRedisQueue_FromSection_ResolvesEveryRedisSeam()
    {
        var section = Section(new() { ["MediaGen:Redis:Configuration"] = "127.0.0.1:1,abortConnect=false", ["MediaGen:Redis:KeyPrefix"] = "app", ["MediaGen:Redis:LeaseDuration"] = "00:01:00" });
        var services = new ServiceCollection();
        services.AddMediaGeneration().UseRedisQueue(section);
        using var provider = services.BuildServiceProvider();

        Assert.IsType<RedisJobQueue>(provider.GetRequiredService<IJobQueue>());
        Assert.IsType<RedisJobStore>(provider.GetRequiredService<IJobStore>());
        Assert.IsType<RedisCreditLedger>(provider.GetRequiredService<ICreditLedger>());
        Assert.IsType<RedisJobEventStream>(provider.GetRequiredService<IJobEventStream>());
        Assert.IsType<RedisResultCacheIndex>(provider.GetRequiredService<IResultCacheIndex>());
        Assert.Equal(TimeSpan.FromMinutes(1), provider.GetRequiredService<IOptions<RedisQueueOptions>>().Value.LeaseDuration);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task UseRedisQueue_CallerOwnedConnection_IsNotDisposedWithTheContainer()
    {
        await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(RedisTestServer.Address);
        var services = new ServiceCollection();
        services.AddMediaGeneration().UseRedisQueue(multiplexer, o => o.KeyPrefix = RedisTestServer.NewPrefix());
        await using (var provider = services.BuildServiceProvider())
        {
            var queue = provider.GetRequiredService<IJobQueue>();
            await queue.EnqueueAsync(new QueueMessage("job"));
            Assert.Equal(1, (await queue.GetDepthAsync()).Ready);
        }

        Assert.True(multiplexer.IsConnected);
        Assert.Equal("PONG", (string?)await multiplexer.GetDatabase().ExecuteAsync("PING"));
    }

    // Both ways a connection MediaGen creates can complete Redis's answers: on StackExchange.Redis's dedicated threads
    // (the default) and on .NET's thread pool.
    [ServerTheory(RedisTestServer.Variable)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SubmitAsync_WithWorkerOnRedis_EveryJobSucceedsAndIsChargedOnce(bool threadPoolSocketManager)
    {
        var prefix = RedisTestServer.NewPrefix();
        await WorkerOnBackend.EveryJobSucceedsAndIsChargedOnceAsync(b => b.UseRedisQueue(o =>
        {
            o.Configuration = RedisTestServer.Address;
            o.KeyPrefix = prefix;
            o.UseThreadPoolSocketManager = threadPoolSocketManager;
        }));
    }

    [Fact]
    public void CreateOptions_ByDefault_KeepsStackExchangeRedisThreadsFailsFastAndKeepsReconnecting()
    {
        var options = RedisConnection.CreateOptions("127.0.0.1:6379,asyncTimeout=1234", queueWhileDisconnected: false, threadPoolSocketManager: false);

        Assert.Null(options.SocketManager);
        Assert.Same(BacklogPolicy.FailFast, options.BacklogPolicy);
        Assert.False(options.AbortOnConnectFail);
        Assert.Equal(1234, options.AsyncTimeout);
    }

    [Fact]
    public void CreateOptions_ThreadPoolSocketManagerAndQueueing_CompletesOnTheThreadPoolAndQueues()
    {
        var options = RedisConnection.CreateOptions("127.0.0.1:6379", queueWhileDisconnected: true, threadPoolSocketManager: true);

        Assert.Same(SocketManager.ThreadPool, options.SocketManager);
        Assert.Same(BacklogPolicy.Default, options.BacklogPolicy);
        Assert.False(options.AbortOnConnectFail);
    }

    [Fact]
    public void UseRedisQueue_FromSection_BindsUseThreadPoolSocketManager()
    {
        var section = Section(new() { ["MediaGen:Redis:Configuration"] = "127.0.0.1:1,abortConnect=false", ["MediaGen:Redis:UseThreadPoolSocketManager"] = "true" });
        var services = new ServiceCollection();
        services.AddMediaGeneration().UseRedisQueue(section);
        using var provider = services.BuildServiceProvider();

        Assert.True(provider.GetRequiredService<IOptions<RedisQueueOptions>>().Value.UseThreadPoolSocketManager);
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task SubmitAsync_IdenticalRequestOnAnApiOnlyHost_IsServedFromTheIndexTheWorkerHostWrote()
    {
        var prefix = RedisTestServer.NewPrefix();
        await ResultCacheAcrossHosts.RunAsync(b => b.UseRedisQueue(o => { o.Configuration = RedisTestServer.Address; o.KeyPrefix = prefix; }));
    }

    [ServerFact(RedisTestServer.Variable)]
    public async Task SubmitAsync_RedisDown_ThrowsQueueUnavailableAndWritesNothing()
    {
        var services = new ServiceCollection();
        var port = FreePort.Next();
        services.AddMediaGeneration()
            .UseRedisQueue(o => o.Configuration = $"127.0.0.1:{port},connectTimeout=200,connectRetry=0")
            .AddGenerator(new InstantGenerator());
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IMediaGenerationClient>();

        var error = await Assert.ThrowsAsync<QueueUnavailableException>(() =>
            client.SubmitAsync(new GenerationRequest { Prompt = "a cat", Model = InstantGenerator.ModelId, OwnerId = "owner" }).AsTask());

        Assert.Equal(MediaGenErrorCodes.QueueUnavailable, error.ErrorCode);
        Assert.Contains("MediaGen:Redis:Configuration", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UseRedisQueue_EverySeamOnRedis_MakesEachLifecycleStepOneScript()
    {
        var services = new ServiceCollection();
        services.AddMediaGeneration().UseRedisQueue(o => o.Configuration = "127.0.0.1:1,abortConnect=false");
        using var provider = services.BuildServiceProvider();

        Assert.IsType<RedisJobLifecycleStore>(provider.GetRequiredService<IJobLifecycleStore>());
    }

    [Fact]
    public void UseRedisQueue_OneSeamReplaced_LeavesTheLifecycleToBeComposed()
    {
        var services = new ServiceCollection();
        services.AddMediaGeneration().UseRedisQueue(o => o.Configuration = "127.0.0.1:1,abortConnect=false");
        services.AddSingleton<IJobEventStream>(new SilentEventStream());
        using var provider = services.BuildServiceProvider();

        Assert.IsNotType<RedisJobLifecycleStore>(provider.GetRequiredService<IJobLifecycleStore>());
    }

    private static IConfigurationSection Section(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection("MediaGen:Redis");

    private sealed class SilentEventStream : IJobEventStream
    {
        public ValueTask PublishAsync(JobEvent jobEvent, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask<IAsyncEnumerator<JobEvent>> OpenSubscriptionAsync(string jobId, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Silent(cancellationToken));

        private static async IAsyncEnumerator<JobEvent> Silent(CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            yield break;
        }

        public ValueTask<IReadOnlyList<JobEvent>> GetHistoryAsync(string jobId, long afterSequence, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<IReadOnlyList<JobEvent>>([]);
    }
}
