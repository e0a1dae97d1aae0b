namespace MediaGen.PostgreSql.Tests;

/// <summary>
/// Waits until a statement of a test blocks on a row lock another connection of the test holds, so the test can change
/// the row while the statement waits. That is PostgreSQL's own progress, on its clock: it is read from
/// <c>pg_stat_activity</c> every few milliseconds, within <see cref="Waits.Limit"/>.
/// </summary>
internal static class PostgresLockWaits
{
    /// <summary>Returns once a statement whose text contains <paramref name="statement"/> waits for a lock.</summary>
    public static async Task WaitForAsync(NpgsqlDataSource source, string statement, string what)
    {
        using var limit = new CancellationTokenSource(Waits.Limit);
        while (!limit.IsCancellationRequested)
        {
            await using var command = source.CreateCommand(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND strpos(query, $1) > 0");
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = statement });
            if ((long)(await command.ExecuteScalarAsync())! > 0)
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }

        throw new TimeoutException($"{what} never waited for the held row.");
    }
}
