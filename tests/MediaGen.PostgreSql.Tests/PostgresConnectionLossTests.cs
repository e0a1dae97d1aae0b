using MediaGen.Compliance;
using Npgsql;

namespace MediaGen.PostgreSql.Tests;

/// <summary>
/// What a client sees when PostgreSQL cannot be reached or drops its connections: <see cref="QueueUnavailableException"/>,
/// then service again without a restart, and a listener that comes back by itself.
/// </summary>
public sealed class PostgresConnectionLossTests : IAsyncLifetime
{
    private readonly string _schema = PostgresTestServer.NewSchema();
    private readonly string _application = "mediagen-test-" + Guid.NewGuid().ToString("N")[..8];
    private readonly List<PostgresDatabase> _databases = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await database.DisposeAsync();
        }

        await PostgresTestServer.DropSchemaAsync(_schema);
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task EveryCall_ServerNotListening_ThrowsQueueUnavailable()
    {
        var database = Track(PostgresTestServer.Connect(_schema, TimeProvider.System, $"Host=127.0.0.1;Port={TestSupport.FreePort.Next()};Username=mediagen;Timeout=2"));
        var queue = PostgresTestServer.Queue(database, PostgresTestServer.Options(_schema));
        var job = new GenerationJob
        {
            Id = Guid.NewGuid().ToString("N"),
            Request = new GenerationRequest { Prompt = "a fox", Model = "procedural", OwnerId = "owner" },
            CreatedAt = DateTimeOffset.UnixEpoch,
        };
        var lifecycle = new PostgresJobLifecycleStore(database, queue, new PostgresCreditLedger(database, () => 10), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        var errors = new[]
        {
            await Assert.ThrowsAsync<QueueUnavailableException>(() => queue.EnqueueAsync(new QueueMessage("job")).AsTask()),
            await Assert.ThrowsAsync<QueueUnavailableException>(() => lifecycle.SubmitAsync(new JobSubmission { Job = job, Message = new QueueMessage(job.Id) }).AsTask()),
            await Assert.ThrowsAsync<QueueUnavailableException>(() => new PostgresJobCancelSignal(database).SubscribeAsync(_ => { }).AsTask()),
        };

        Assert.All(errors, e => Assert.Equal(MediaGenErrorCodes.QueueUnavailable, e.ErrorCode));
        Assert.All(errors, e => Assert.Contains("MediaGen:PostgreSql:ConnectionString", e.Message, StringComparison.Ordinal));
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task EnqueueAsync_ConnectionsTerminated_ThrowsQueueUnavailableOnceThenWorksAgain()
    {
        var database = Track(PostgresTestServer.Connect(_schema, TimeProvider.System, ConnectionString()));
        var queue = PostgresTestServer.Queue(database, PostgresTestServer.Options(_schema));
        await queue.EnqueueAsync(new QueueMessage("before"));

        await TerminateBackendsAsync();

        var error = await Assert.ThrowsAsync<QueueUnavailableException>(() => queue.EnqueueAsync(new QueueMessage("during")).AsTask());
        Assert.IsType<PostgresException>(error.InnerException);
        await queue.EnqueueAsync(new QueueMessage("after"));
        Assert.Equal(2, (await queue.GetDepthAsync()).Ready);
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task ReceiveAsync_ListeningConnectionTerminated_IsWokenAgainOnceItIsBack()
    {
        // No safety-net polling within the test's time: only a notification (or the reconnection's look) can wake the receive.
        var options = PostgresTestServer.Options(_schema, configure: o => o.IdleCheckInterval = TimeSpan.FromMinutes(10));
        var queue = PostgresTestServer.Queue(Track(PostgresTestServer.Connect(_schema, TimeProvider.System, ConnectionString())), options);
        var peer = PostgresTestServer.Queue(Track(PostgresTestServer.Connect(_schema, TimeProvider.System)), options);
        await queue.EnqueueAsync(new QueueMessage("first"));
        await (await queue.ReceiveAsync(1, TimeSpan.FromSeconds(10))).Single().CompleteAsync();

        await TerminateBackendsAsync();

        // The pooled connection was terminated too: its next use fails once (a worker backs off and receives again).
        await Assert.ThrowsAsync<QueueUnavailableException>(() => queue.ReceiveAsync(1, TimeSpan.Zero).AsTask());
        var receive = queue.ReceiveAsync(1, TimeSpan.FromMinutes(1)).AsTask();
        await peer.EnqueueAsync(new QueueMessage("second"));

        var lease = Assert.Single(await receive.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal("second", lease.Message.JobId);
        await lease.CompleteAsync();

        // And the listener hears notifications again.
        var next = queue.ReceiveAsync(1, TimeSpan.FromMinutes(1)).AsTask();
        await peer.EnqueueAsync(new QueueMessage("third"));
        Assert.Equal("third", Assert.Single(await next.WaitAsync(TimeSpan.FromSeconds(20))).Message.JobId);
    }

    private PostgresDatabase Track(PostgresDatabase database)
    {
        _databases.Add(database);
        return database;
    }

    private string ConnectionString() => new NpgsqlConnectionStringBuilder(PostgresTestServer.ConnectionString) { ApplicationName = _application }.ConnectionString;

    private async Task TerminateBackendsAsync()
    {
        await using var dataSource = NpgsqlDataSource.Create(PostgresTestServer.ConnectionString);
        await using var command = dataSource.CreateCommand("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = _application });
        Assert.True((long)(await command.ExecuteScalarAsync())! > 0);
    }
}
