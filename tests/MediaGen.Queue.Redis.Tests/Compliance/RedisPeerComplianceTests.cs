namespace MediaGen.Queue.Redis.Tests.Compliance;

// The suites whose peer is another process: each client, the first and every peer, is a new Redis client on the test's prefix.

[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisJobCancelSignalComplianceTests : JobCancelSignalComplianceTests
{
    private readonly RedisComplianceClients<IJobCancelSignal> _clients = new((c, o) => new RedisJobCancelSignal(c, o));

    protected override ValueTask<IJobCancelSignal> CreateSignalAsync() => _clients.CreateAsync(Track);

    protected override ValueTask<IJobCancelSignal> CreatePeerSignalAsync(IJobCancelSignal signal) => _clients.CreateAsync(Track);
}

[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisJobEventStreamComplianceTests : JobEventStreamComplianceTests
{
    private readonly RedisComplianceClients<IJobEventStream> _clients = new((c, o) => new RedisJobEventStream(c, o, NullLogger<RedisJobEventStream>.Instance));

    protected override ValueTask<IJobEventStream> CreateEventStreamAsync() => _clients.CreateAsync(Track);

    protected override ValueTask<IJobEventStream> CreatePeerEventStreamAsync(IJobEventStream stream) => _clients.CreateAsync(Track);
}

[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisProviderPauseStoreComplianceTests : ProviderPauseStoreComplianceTests
{
    private readonly RedisComplianceClients<IProviderPauseStore> _clients;

    public RedisProviderPauseStoreComplianceTests() => _clients = new((c, o) => new RedisProviderPauseStore(c, o, Time));

    protected override ValueTask<IProviderPauseStore> CreateStoreAsync() => _clients.CreateAsync(Track);

    protected override ValueTask<IProviderPauseStore> CreatePeerStoreAsync(IProviderPauseStore store) => _clients.CreateAsync(Track);
}

[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisResultCacheIndexComplianceTests : ResultCacheIndexComplianceTests
{
    private readonly RedisComplianceClients<IResultCacheIndex> _clients;

    public RedisResultCacheIndexComplianceTests() => _clients = new((c, o) => new RedisResultCacheIndex(c, o, Time));

    protected override ValueTask<IResultCacheIndex> CreateIndexAsync() => _clients.CreateAsync(Track);

    protected override ValueTask<IResultCacheIndex> CreatePeerIndexAsync(IResultCacheIndex index) => _clients.CreateAsync(Track);
}

[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisWebhookOutboxComplianceTests : WebhookOutboxComplianceTests
{
    private readonly RedisComplianceClients<IWebhookOutbox> _clients;

    public RedisWebhookOutboxComplianceTests() => _clients = new((c, o) => new RedisWebhookOutbox(c, o, Time));

    protected override ValueTask<IWebhookOutbox> CreateOutboxAsync() => _clients.CreateAsync(Track);

    protected override ValueTask<IWebhookOutbox> CreatePeerOutboxAsync(IWebhookOutbox outbox) => _clients.CreateAsync(Track);
}

[RequiresServer(RedisTestServer.Variable)]
public sealed class RedisWorkerRegistryComplianceTests : WorkerRegistryComplianceTests
{
    private readonly RedisComplianceClients<IWorkerRegistry> _clients = new((c, o) => new RedisWorkerRegistry(c, o));

    protected override ValueTask<IWorkerRegistry> CreateRegistryAsync() => _clients.CreateAsync(Track);

    protected override ValueTask<IWorkerRegistry> CreatePeerRegistryAsync(IWorkerRegistry registry) => _clients.CreateAsync(Track);
}
