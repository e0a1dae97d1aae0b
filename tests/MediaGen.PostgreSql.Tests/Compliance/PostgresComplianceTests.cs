namespace MediaGen.PostgreSql.Tests.Compliance;

[RequiresServer(PostgresTestServer.Variable)]
public sealed class PostgresJobStoreComplianceTests : JobStoreComplianceTests
{
    protected override ValueTask<IJobStore> CreateStoreAsync() =>
        ValueTask.FromResult<IJobStore>(new PostgresJobStore(Track(new PostgresComplianceDatabases(Time)).Connect()));
}

[RequiresServer(PostgresTestServer.Variable)]
public sealed class PostgresCreditLedgerComplianceTests : CreditLedgerComplianceTests
{
    protected override ValueTask<ICreditLedger> CreateLedgerAsync(long initialBalance) =>
        ValueTask.FromResult<ICreditLedger>(new PostgresCreditLedger(Track(new PostgresComplianceDatabases(Time)).Connect(), () => initialBalance));
}

[RequiresServer(PostgresTestServer.Variable)]
public sealed class PostgresJobQueueComplianceTests : JobQueueComplianceTests
{
    private readonly Dictionary<IJobQueue, TimeSpan> _leaseDurations = [];
    private PostgresComplianceDatabases? _databases;

    protected override ValueTask<IJobQueue> CreateQueueAsync(TimeSpan leaseDuration)
    {
        _databases ??= Track(new PostgresComplianceDatabases(Time));
        var queue = CreateClient(leaseDuration);
        _leaseDurations[queue] = leaseDuration;
        return ValueTask.FromResult(queue);
    }

    protected override ValueTask<IJobQueue> CreatePeerQueueAsync(IJobQueue queue) => ValueTask.FromResult(CreateClient(_leaseDurations[queue]));

    private IJobQueue CreateClient(TimeSpan leaseDuration) =>
        Track(PostgresTestServer.Queue(_databases!.Connect(), PostgresTestServer.Options(_databases.Schema, leaseDuration)));
}

[RequiresServer(PostgresTestServer.Variable)]
public sealed class PostgresJobEventStreamComplianceTests : JobEventStreamComplianceTests
{
    private PostgresComplianceDatabases? _databases;

    protected override ValueTask<IJobEventStream> CreateEventStreamAsync()
    {
        _databases ??= Track(new PostgresComplianceDatabases(Time));
        return CreateClient();
    }

    protected override ValueTask<IJobEventStream> CreatePeerEventStreamAsync(IJobEventStream stream) => CreateClient();

    private ValueTask<IJobEventStream> CreateClient() =>
        ValueTask.FromResult<IJobEventStream>(new PostgresJobEventStream(_databases!.Connect(), NullLogger<PostgresJobEventStream>.Instance));
}

[RequiresServer(PostgresTestServer.Variable)]
public sealed class PostgresJobCancelSignalComplianceTests : JobCancelSignalComplianceTests
{
    private PostgresComplianceDatabases? _databases;

    protected override ValueTask<IJobCancelSignal> CreateSignalAsync()
    {
        _databases ??= Track(new PostgresComplianceDatabases(Time));
        return CreateClient();
    }

    protected override ValueTask<IJobCancelSignal> CreatePeerSignalAsync(IJobCancelSignal signal) => CreateClient();

    private ValueTask<IJobCancelSignal> CreateClient() => ValueTask.FromResult<IJobCancelSignal>(new PostgresJobCancelSignal(_databases!.Connect()));
}

[RequiresServer(PostgresTestServer.Variable)]
public sealed class PostgresProviderPauseStoreComplianceTests : ProviderPauseStoreComplianceTests
{
    private PostgresComplianceDatabases? _databases;

    protected override ValueTask<IProviderPauseStore> CreateStoreAsync()
    {
        _databases ??= Track(new PostgresComplianceDatabases(Time));
        return CreateClient();
    }

    protected override ValueTask<IProviderPauseStore> CreatePeerStoreAsync(IProviderPauseStore store) => CreateClient();

    private ValueTask<IProviderPauseStore> CreateClient() => ValueTask.FromResult<IProviderPauseStore>(new PostgresProviderPauseStore(_databases!.Connect()));
}

[RequiresServer(PostgresTestServer.Variable)]
public sealed class PostgresJobLifecycleStoreComplianceTests : JobLifecycleStoreComplianceTests
{
    protected override bool LeasesCarryTheirJob => true;

    protected override ValueTask<LifecycleBackend> CreateBackendAsync(long initialBalance)
    {
        var databases = new PostgresComplianceDatabases(Time);
        var database = databases.Connect();
        var queue = PostgresTestServer.Queue(database, PostgresTestServer.Options(databases.Schema, LeaseDuration));
        var ledger = new PostgresCreditLedger(database, () => initialBalance);
        var events = new PostgresJobEventStream(database, NullLogger<PostgresJobEventStream>.Instance);
        var lifecycle = new PostgresJobLifecycleStore(database, queue, ledger, events, NullLogger.Instance);
        return ValueTask.FromResult(new LifecycleBackend(
            lifecycle,
            new PostgresJobStore(database),
            ledger,
            queue,
            events,
            databases,
            queue));
    }
}

[RequiresServer(PostgresTestServer.Variable)]
public sealed class PostgresResultCacheIndexComplianceTests : ResultCacheIndexComplianceTests
{
    private PostgresComplianceDatabases? _databases;

    protected override ValueTask<IResultCacheIndex> CreateIndexAsync()
    {
        _databases ??= Track(new PostgresComplianceDatabases(Time));
        return CreateClient();
    }

    protected override ValueTask<IResultCacheIndex> CreatePeerIndexAsync(IResultCacheIndex index) => CreateClient();

    private ValueTask<IResultCacheIndex> CreateClient() => ValueTask.FromResult<IResultCacheIndex>(new PostgresResultCacheIndex(_databases!.Connect()));
}

[RequiresServer(PostgresTestServer.Variable)]
public sealed class PostgresWorkerRegistryComplianceTests : WorkerRegistryComplianceTests
{
    private PostgresComplianceDatabases? _databases;

    protected override ValueTask<IWorkerRegistry> CreateRegistryAsync()
    {
        _databases ??= Track(new PostgresComplianceDatabases(Time));
        return CreateClient();
    }

    protected override ValueTask<IWorkerRegistry> CreatePeerRegistryAsync(IWorkerRegistry registry) => CreateClient();

    private ValueTask<IWorkerRegistry> CreateClient() => ValueTask.FromResult<IWorkerRegistry>(new PostgresWorkerRegistry(_databases!.Connect()));
}

[RequiresServer(PostgresTestServer.Variable)]
public sealed class PostgresWebhookOutboxComplianceTests : WebhookOutboxComplianceTests
{
    private PostgresComplianceDatabases? _databases;

    protected override ValueTask<IWebhookOutbox> CreateOutboxAsync()
    {
        _databases ??= Track(new PostgresComplianceDatabases(Time));
        return CreateClient();
    }

    protected override ValueTask<IWebhookOutbox> CreatePeerOutboxAsync(IWebhookOutbox outbox) => CreateClient();

    private ValueTask<IWebhookOutbox> CreateClient() => ValueTask.FromResult<IWebhookOutbox>(new PostgresWebhookOutbox(_databases!.Connect()));
}
