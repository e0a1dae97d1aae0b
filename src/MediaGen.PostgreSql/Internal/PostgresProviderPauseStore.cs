namespace MediaGen.PostgreSql.Internal;

/// <summary>
/// Providers' rate-limit pauses on PostgreSQL, one row per provider holding the deadline, rounded up to the millisecond.
/// One upsert compares and sets, so the deadline only moves later whatever the concurrency.
/// </summary>
internal sealed class PostgresProviderPauseStore : IProviderPauseStore
{
    private readonly PostgresDatabase _database;
    private readonly string _schema;

    public PostgresProviderPauseStore(PostgresDatabase database)
    {
        _database = database;
        _schema = database.QuotedSchema;
    }

    public async ValueTask<DateTimeOffset> ExtendAsync(string provider, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        var untilMs = (until.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond;
        var command = (await _database.CommandAsync(
            $"INSERT INTO {_schema}.provider_pauses AS p (provider, paused_until) VALUES ($1, $2) " +
            "ON CONFLICT (provider) DO UPDATE SET paused_until = GREATEST(p.paused_until, EXCLUDED.paused_until) RETURNING paused_until",
            cancellationToken).ConfigureAwait(false))
            .Text(provider).Time(DateTimeOffset.FromUnixTimeMilliseconds(untilMs));
        return AsInstant(await PostgresDatabase.ScalarAsync(command, cancellationToken).ConfigureAwait(false))!.Value;
    }

    public async ValueTask<DateTimeOffset?> GetAsync(string provider, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        var command = (await _database.CommandAsync($"SELECT paused_until FROM {_schema}.provider_pauses WHERE provider = $1", cancellationToken).ConfigureAwait(false))
            .Text(provider);
        return AsInstant(await PostgresDatabase.ScalarAsync(command, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>A timestamptz as Npgsql returns it untyped (a UTC DateTime) as an instant.</summary>
    private static DateTimeOffset? AsInstant(object? value) => value is DateTime utc ? new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)) : null;
}
