namespace MediaGen.PostgreSql.Tests;

/// <summary>
/// What a client sees when PostgreSQL cannot be reached or drops its connections: <see cref="QueueUnavailableException"/>,
/// then service again without a restart, and a listener that comes back by itself.
/// </summary>
public sealed class PostgresConnectionLossTests : IAsyncLifetime
{
    private readonly string _application = "mediagen-test-" + Guid.NewGuid().ToString("N")[..8];
    private readonly PostgresComplianceDatabases _databases = new(TimeProvider.System);

    private string Schema => _databases.Schema;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _databases.DisposeAsync().AsTask();

    [ServerFact(PostgresTestServer.Variable)]
    public async Task EveryCall_ServerNotListening_ThrowsQueueUnavailable()
    {
        var database = _databases.Connect($"Host=127.0.0.1;Port={TestSupport.FreePort.Next()};Username=mediagen;Timeout=2");
        var queue = PostgresTestServer.Queue(database, PostgresTestServer.Options(Schema));
        var job = new GenerationJob
        {
            Id = Guid.NewGuid().ToString("N"),
            Request = new GenerationRequest { Prompt = "a fox", Model = "procedural", OwnerId = "owner" },
            CreatedAt = DateTimeOffset.UnixEpoch,
        };
        var lifecycle = new PostgresJobLifecycleStore(
            database,
            queue,
            new PostgresCreditLedger(database, () => 10),
            new PostgresJobEventStream(database, Microsoft.Extensions.Logging.Abstractions.NullLogger<PostgresJobEventStream>.Instance),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

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
        var database = _databases.Connect(ConnectionString());
        var queue = PostgresTestServer.Queue(database, PostgresTestServer.Options(Schema));
        await queue.EnqueueAsync(new QueueMessage("before"));

        await TerminateBackendsAsync();

        var error = await Assert.ThrowsAsync<QueueUnavailableException>(() => queue.EnqueueAsync(new QueueMessage("during")).AsTask());
        Assert.IsType<PostgresException>(error.InnerException);
        await queue.EnqueueAsync(new QueueMessage("after"));
        Assert.Equal(2, (await queue.GetDepthAsync()).Ready);
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task EveryCall_PooledConnectionsTerminated_FailsAtMostOnceThenWorks()
    {
        // Eight connections in the pool, all idle once the queries end; then the server drops them all (as a restart does).
        var database = _databases.Connect(ConnectionString());
        var queue = PostgresTestServer.Queue(database, PostgresTestServer.Options(Schema));
        await queue.EnqueueAsync(new QueueMessage("before"));
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            await using var command = database.DataSource.CreateCommand("SELECT pg_sleep(0.2)");
            await command.ExecuteNonQueryAsync();
        }));

        await TerminateBackendsAsync();

        // The first call to meet a dead connection fails and empties the pool; the ones after it open new connections.
        var failures = 0;
        for (var i = 0; i < 8; i++)
        {
            try
            {
                Assert.Equal(1, (await queue.GetDepthAsync()).Ready);
            }
            catch (QueueUnavailableException)
            {
                failures++;
            }
        }

        Assert.InRange(failures, 0, 1);
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task ReceiveAsync_ListeningConnectionTerminated_IsWokenAgainOnceItIsBack()
    {
        // No safety-net polling within the test's time: only a notification (or the reconnection's look) can wake the receive.
        var options = PostgresTestServer.Options(Schema, configure: o => o.IdleCheckInterval = TimeSpan.FromMinutes(10));
        var queue = PostgresTestServer.Queue(_databases.Connect(ConnectionString()), options);
        var peer = PostgresTestServer.Queue(_databases.Connect(), options);
        await queue.EnqueueAsync(new QueueMessage("first"));
        await (await queue.ReceiveAsync(1, TimeSpan.FromSeconds(10))).Single().CompleteAsync();

        await TerminateBackendsAsync();

        // The pooled connection was terminated too. Whether its next use fails depends on whether Npgsql noticed the closed
        // socket before handing it out; when it does fail, it fails once, as QueueUnavailableException (a worker backs off
        // and receives again), and the receive after it works.
        try
        {
            Assert.Empty(await queue.ReceiveAsync(1, TimeSpan.Zero));
        }
        catch (QueueUnavailableException)
        {
            Assert.Empty(await queue.ReceiveAsync(1, TimeSpan.Zero));
        }

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

    private string ConnectionString() => new NpgsqlConnectionStringBuilder(PostgresTestServer.ConnectionString) { ApplicationName = _application }.ConnectionString;

    /// <summary>
    /// Terminates this test's connections and waits until their server processes are gone: pg_terminate_backend only
    /// signals them, and a connection used before its process exits still works.
    /// </summary>
    private async Task TerminateBackendsAsync()
    {
        await using var dataSource = NpgsqlDataSource.Create(PostgresTestServer.ConnectionString);
        await using var terminate = dataSource.CreateCommand(
            "WITH victims AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE application_name = $1) " +
            "SELECT array_agg(pid) FROM victims WHERE pg_terminate_backend(pid)");
        terminate.Parameters.Add(new NpgsqlParameter { Value = _application });
        var pids = (int[])(await terminate.ExecuteScalarAsync())!;
        Assert.NotEmpty(pids);
        await using var alive = dataSource.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)");
        alive.Parameters.Add(new NpgsqlParameter { Value = pids });
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while ((long)(await alive.ExecuteScalarAsync())! > 0)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(20), $"Terminated server processes {string.Join(", ", pids)} did not exit.");
            await Task.Delay(10);
        }
    }
}
