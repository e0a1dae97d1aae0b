namespace MediaGen.PostgreSql.Tests;

/// <summary>What the job store does in PostgreSQL beyond the compliance suite: its conditional delete under a concurrent write.</summary>
public sealed class PostgresJobStoreTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));

    /// <summary>
    /// A write of the job's next run holds its row when the delete's statement reaches it (the retry, Pending; or the run
    /// already finished again, so only the version tells it apart): the delete waits for the row, then finds the new
    /// version and deletes nothing, so the check and the delete are one step even against a write in flight.
    /// </summary>
    [ServerTheory(PostgresTestServer.Variable)]
    [InlineData(JobStatus.Pending)]
    [InlineData(JobStatus.Succeeded)]
    public async Task DeleteFinishedAsync_NextRunWrittenWhileTheDeleteWaitsForTheRow_DeletesNothing(JobStatus next)
    {
        await using var databases = new PostgresComplianceDatabases(_time);
        var store = new PostgresJobStore(databases.Connect());
        var created = (await store.CreateAsync(new GenerationJob
        {
            Id = Guid.NewGuid().ToString("N"),
            Request = new GenerationRequest { Prompt = "a lighthouse", Model = "procedural", OwnerId = "owner-a" },
            CreatedAt = _time.GetUtcNow(),
            UpdatedAt = _time.GetUtcNow(),
        })).Job;
        var failed = (await store.UpdateAsync(created with { Status = JobStatus.Failed, Version = 2 }, 1))!;
        var retried = failed with { Status = next, Run = 2, Version = 3 };

        await using var source = NpgsqlDataSource.Create(PostgresTestServer.ConnectionString);
        await using var writer = await source.OpenConnectionAsync();
        await using var retry = await writer.BeginTransactionAsync();
        await using (var write = new NpgsqlCommand(
            $"UPDATE \"{databases.Schema}\".jobs SET status = $1, version = 3, data = $2::json WHERE id = $3 AND version = 2", writer, retry))
        {
            write.Parameters.Add(new NpgsqlParameter<short> { TypedValue = (short)next });
            write.Parameters.Add(new NpgsqlParameter<string> { TypedValue = PostgresJsonContext.Serialize(retried) });
            write.Parameters.Add(new NpgsqlParameter<string> { TypedValue = failed.Id });
            Assert.Equal(1, await write.ExecuteNonQueryAsync());
        }

        var deleting = store.DeleteFinishedAsync(failed.Id, failed.Version).AsTask();
        await PostgresLockWaits.WaitForAsync(source, $"DELETE FROM \"{databases.Schema}\".jobs", "The delete");
        await retry.CommitAsync();

        Assert.False(await deleting);
        var kept = await store.GetAsync(failed.Id);
        Assert.NotNull(kept);
        Assert.Equal((3L, next, 2), (kept.Version, kept.Status, kept.Run));
    }
}
