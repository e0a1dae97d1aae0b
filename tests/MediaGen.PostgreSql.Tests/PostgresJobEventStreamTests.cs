namespace MediaGen.PostgreSql.Tests;

public sealed class PostgresJobEventStreamTests : ComplianceTestBase
{
    [ServerFact(PostgresTestServer.Variable)]
    public async Task PublishAsync_EventLargerThanANotification_ArrivesWithItsTextsShortened()
    {
        var databases = Track(new Compliance.PostgresComplianceDatabases(Time));
        var stream = new PostgresJobEventStream(databases.Connect(), NullLogger<PostgresJobEventStream>.Instance);
        var peer = new PostgresJobEventStream(databases.Connect(), NullLogger<PostgresJobEventStream>.Instance);
        var jobId = NewJobId();
        await using var subscription = await EventSubscription.OpenLiveAsync(peer, stream, jobId, RealTimeout);
        var huge = new string('é', 9000);

        await stream.PublishAsync(new JobEvent
        {
            JobId = jobId,
            OwnerId = "owner",
            Type = JobEventType.Failed,
            Timestamp = Time.GetUtcNow(),
            Status = JobStatus.Failed,
            Message = huge,
            Error = new JobError(MediaGenErrorCodes.GeneratorPermanent, huge, Retryable: false),
        });

        var received = Assert.Single(await subscription.NextAsync(1));
        Assert.Equal((JobEventType.Failed, JobStatus.Failed, MediaGenErrorCodes.GeneratorPermanent), (received.Type, received.Status, received.Error!.Code));
        Assert.StartsWith(huge[..500], received.Message, StringComparison.Ordinal);
        Assert.InRange(received.Message!.Length, 500, 501);
        Assert.InRange(received.Error.Message.Length, 500, 501);
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task PublishAsync_AJobsFirstEvent_DropsHistoriesPastTheirRetention()
    {
        var databases = Track(new Compliance.PostgresComplianceDatabases(Time));
        var stream = new PostgresJobEventStream(databases.Connect(), NullLogger<PostgresJobEventStream>.Instance);
        var (old, recent, next) = (NewJobId(), NewJobId(), NewJobId());
        await stream.PublishAsync(Event(old));
        await stream.PublishAsync(Event(old));
        Time.Advance(TimeSpan.FromHours(20));
        await stream.PublishAsync(Event(recent));
        Time.Advance(TimeSpan.FromHours(5));

        await stream.PublishAsync(Event(next));

        // 25 hours after the old job's latest event, 5 after the recent one's: the default retention is a day.
        Assert.Empty(await stream.GetHistoryAsync(old, 0));
        Assert.Single(await stream.GetHistoryAsync(recent, 0));
        await stream.PublishAsync(Event(old));
        Assert.Equal([1L], (await stream.GetHistoryAsync(old, 0)).Select(e => e.Sequence));
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task DeleteAsync_Job_RemovesItsEventHistory()
    {
        var databases = Track(new Compliance.PostgresComplianceDatabases(Time));
        var database = databases.Connect();
        var stream = new PostgresJobEventStream(database, NullLogger<PostgresJobEventStream>.Instance);
        var store = new PostgresJobStore(database);
        var jobId = NewJobId();
        await store.CreateAsync(new GenerationJob
        {
            Id = jobId,
            Request = new GenerationRequest { Prompt = "a fox", Model = "procedural", OwnerId = "owner" },
            CreatedAt = Time.GetUtcNow(),
        });
        await stream.PublishAsync(Event(jobId));

        Assert.True(await store.DeleteAsync(jobId));

        Assert.Empty(await stream.GetHistoryAsync(jobId, 0));
        await stream.PublishAsync(Event(jobId));
        Assert.Equal([1L], (await stream.GetHistoryAsync(jobId, 0)).Select(e => e.Sequence));
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task PublishAsync_AJobWithARow_NumbersOnTheRowAndDropsItsHistoryPastRetention()
    {
        var databases = Track(new Compliance.PostgresComplianceDatabases(Time));
        var database = databases.Connect();
        var stream = new PostgresJobEventStream(database, NullLogger<PostgresJobEventStream>.Instance);
        var store = new PostgresJobStore(database);
        var (old, recent) = (NewJobId(), NewJobId());
        await store.CreateAsync(Job(old));
        await store.CreateAsync(Job(recent));
        await stream.PublishAsync(Event(old));
        await stream.PublishAsync(Event(old));
        Time.Advance(TimeSpan.FromHours(20));
        await stream.PublishAsync(Event(recent));
        Time.Advance(TimeSpan.FromHours(5));

        await stream.PublishAsync(Event(NewJobId()));

        Assert.Empty(await stream.GetHistoryAsync(old, 0));
        Assert.Single(await stream.GetHistoryAsync(recent, 0));
        Assert.Equal(0L, await ScalarAsync(databases.Schema, "SELECT count(*) FROM {0}.job_event_counters WHERE job_id IN ($1, $2)", old, recent));

        // The row keeps its number: a client resuming after event 2 is not handed a new event 1 it would skip.
        await stream.PublishAsync(Event(old));
        Assert.Equal([3L], (await stream.GetHistoryAsync(old, 0)).Select(e => e.Sequence));
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task PublishAsync_EventsFromBeforeTheJobsRow_AreContinuedOnTheRow()
    {
        var databases = Track(new Compliance.PostgresComplianceDatabases(Time));
        var database = databases.Connect();
        var stream = new PostgresJobEventStream(database, NullLogger<PostgresJobEventStream>.Instance);
        var jobId = NewJobId();
        await stream.PublishAsync(Event(jobId));
        await stream.PublishAsync(Event(jobId));
        await new PostgresJobStore(database).CreateAsync(Job(jobId));

        await stream.PublishAsync(Event(jobId));
        await stream.PublishAsync(Event(jobId));

        Assert.Equal([1L, 2L, 3L, 4L], (await stream.GetHistoryAsync(jobId, 0)).Select(e => e.Sequence));
        Assert.Equal(0L, await ScalarAsync(databases.Schema, "SELECT count(*) FROM {0}.job_event_counters WHERE job_id = $1", jobId));
        Assert.Equal(4L, await ScalarAsync(databases.Schema, "SELECT event_sequence FROM {0}.jobs WHERE id = $1", jobId));
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task ApplyMigrationsAsync_SchemaWithEventCounters_MovesEachJobsNumberOntoItsRow()
    {
        var schema = PostgresTestServer.NewSchema();
        await using var cleanup = new SchemaCleanup(schema);
        var (kept, rowless) = (NewJobId(), NewJobId());
        var before = string.Join(";\n", PostgresMigrations.All.Where(m => m.Version < 5).Select(m => m.Render(schema)));
        var payload = PostgresJobEventStream.Payload(Event(kept), NullLogger.Instance)!;
        await ScalarAsync(
            schema,
            "CREATE SCHEMA {0}; CREATE TABLE {0}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());\n" +
            before + ";\n" +
            "INSERT INTO {0}.schema_migrations (version, name) VALUES (1, '0001_initial'), (2, '0002_result_cache'), (3, '0003_worker_registry'), (4, '0004_webhook_outbox');\n" +
            $"INSERT INTO {{0}}.jobs (id, owner_id, status, version, updated_at, data) VALUES ('{kept}', 'owner', 0, 1, now(), '{{}}')");
        foreach (var jobId in (string[])[kept, kept, rowless])
        {
            await ScalarAsync(schema, "SELECT {0}.event_publish('c', $1, $2, 100, 86400000, now())", jobId, payload);
        }

        await using (var dataSource = Npgsql.NpgsqlDataSource.Create(PostgresTestServer.ConnectionString))
        {
            Assert.Equal(["0005_event_sequence_on_jobs", "0006_commit_with_preceding_event", "0007_defer_without_counting"], await PostgreSqlSchema.ApplyMigrationsAsync(dataSource, schema));
        }

        Assert.Equal(2L, await ScalarAsync(schema, "SELECT event_sequence FROM {0}.jobs WHERE id = $1", kept));
        Assert.Equal(1L, await ScalarAsync(schema, "SELECT count(*) FROM {0}.job_event_counters"));
        await using var database = PostgresTestServer.Connect(schema, Time);
        var stream = new PostgresJobEventStream(database, NullLogger<PostgresJobEventStream>.Instance);
        await stream.PublishAsync(Event(kept));
        await stream.PublishAsync(Event(rowless));
        Assert.Equal([1L, 2L, 3L], (await stream.GetHistoryAsync(kept, 0)).Select(e => e.Sequence));
        Assert.Equal([1L, 2L], (await stream.GetHistoryAsync(rowless, 0)).Select(e => e.Sequence));
    }

    [ServerFact(PostgresTestServer.Variable)]
    public async Task DisposeAsync_ListenerOnAPoolThatDoesNotReset_ReturnsItsConnectionUnsubscribed()
    {
        var schema = PostgresTestServer.NewSchema();
        await using var cleanup = new SchemaCleanup(schema);
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(PostgresTestServer.ConnectionString + ";No Reset On Close=true;Maximum Pool Size=2");
        var database = new PostgresDatabase(dataSource, owned: false, schema, applyMigrations: true, Time, NullLogger.Instance);
        var stream = new PostgresJobEventStream(database, NullLogger<PostgresJobEventStream>.Instance);
        await using (var subscription = await stream.OpenSubscriptionAsync(NewJobId()))
        {
            await database.DisposeAsync();
        }

        // The pool's two connections, held at once: one was the listener's (the other woke it to stop), and without a
        // reset it would still be listening.
        await using var first = await dataSource.OpenConnectionAsync();
        await using var second = await dataSource.OpenConnectionAsync();
        foreach (var connection in (Npgsql.NpgsqlConnection[])[first, second])
        {
            await using var command = new Npgsql.NpgsqlCommand("SELECT count(*) FROM pg_listening_channels()", connection);
            Assert.Equal(0L, await command.ExecuteScalarAsync());
        }
    }

    /// <summary>Runs <paramref name="sql"/> (<c>{0}</c> is the quoted schema) with <paramref name="values"/> as $1, $2...; returns the first value.</summary>
    private static async Task<object?> ScalarAsync(string schema, string sql, params object[] values)
    {
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(PostgresTestServer.ConnectionString);
        await using var command = dataSource.CreateCommand(sql.Replace("{0}", PostgresMigrations.Quote(schema), StringComparison.Ordinal));
        foreach (var value in values)
        {
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = value });
        }

        return await command.ExecuteScalarAsync();
    }

    private sealed class SchemaCleanup(string schema) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await PostgresTestServer.DropSchemaAsync(schema);
    }

    private GenerationJob Job(string jobId) => new()
    {
        Id = jobId,
        Request = new GenerationRequest { Prompt = "a fox", Model = "procedural", OwnerId = "owner" },
        CreatedAt = Time.GetUtcNow(),
    };

    private JobEvent Event(string jobId) => new()
    {
        JobId = jobId,
        OwnerId = "owner",
        Type = JobEventType.Progress,
        Timestamp = Time.GetUtcNow(),
        Status = JobStatus.Processing,
    };

    [Fact]
    public void Channel_LongSchemaAndJobId_FitsAnIdentifierAndStaysDistinct()
    {
        var schema = new string('s', 30);

        var first = PostgresChannels.Events(schema, new string('a', 40));
        var second = PostgresChannels.Events(schema, new string('a', 39) + "b");

        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(first), 1, 63);
        Assert.NotEqual(first, second);
        Assert.Equal("mediagen.e.0123456789abcdef0123456789abcdef", PostgresChannels.Events("mediagen", "0123456789abcdef0123456789abcdef"));
    }
}
