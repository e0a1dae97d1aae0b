using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace MediaGen.PostgreSql.Internal;

/// <summary>
/// The one database the job store, credit ledger, queue, event stream, cancel signal and pause store share: a data source
/// (created from <see cref="PostgreSqlOptions.ConnectionString"/> and disposed with this object, or the caller's, never
/// disposed here), the schema, its notification listener, and the start-up check that the schema is at the package's
/// version (applying the migrations when <see cref="PostgreSqlOptions.ApplyMigrationsOnStartup"/>).
/// </summary>
internal sealed class PostgresDatabase : IAsyncDisposable, IDisposable
{
    private readonly bool _owned;
    private readonly bool _applyMigrations;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private Task? _ready;
    private PostgresNotificationListener? _listener;
    private int _disposed;

    public PostgresDatabase(NpgsqlDataSource dataSource, bool owned, string schema, bool applyMigrations, TimeProvider timeProvider, ILogger logger)
    {
        DataSource = dataSource;
        _owned = owned;
        Schema = schema;
        QuotedSchema = PostgresMigrations.Quote(schema);
        _applyMigrations = applyMigrations;
        TimeProvider = timeProvider;
        _logger = logger;
        WakeChannel = PostgresChannels.Wake(schema);
        CancelChannel = PostgresChannels.Cancel(schema);
    }

    public NpgsqlDataSource DataSource { get; }

    /// <summary>The schema's name.</summary>
    public string Schema { get; }

    /// <summary>The schema as a quoted identifier, to put in front of its tables and functions.</summary>
    public string QuotedSchema { get; }

    public string WakeChannel { get; }

    public string CancelChannel { get; }

    public TimeProvider TimeProvider { get; }

    public ILogger Logger => _logger;

    /// <summary>The process's one listening connection for this database, started on first use.</summary>
    public PostgresNotificationListener Listener
    {
        get
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed != 0, this);
                return _listener ??= new PostgresNotificationListener(this);
            }
        }
    }

    public string EventChannel(string jobId) => PostgresChannels.Events(Schema, jobId);

    /// <summary>
    /// Applies the migrations (or checks that they were applied) once per process; a failure is retried by the next call.
    /// </summary>
    public Task EnsureReadyAsync(CancellationToken cancellationToken)
    {
        var ready = Volatile.Read(ref _ready);
        if (ready is { IsCompletedSuccessfully: true })
        {
            return Task.CompletedTask;
        }

        lock (_gate)
        {
            if (_ready is null || _ready.IsFaulted || _ready.IsCanceled)
            {
                _ready = PrepareAsync();
            }

            ready = _ready;
        }

        return ready.IsCompleted ? ready : ready.WaitAsync(cancellationToken);
    }

    private async Task PrepareAsync()
    {
        try
        {
            if (_applyMigrations)
            {
                var applied = await PostgresMigrations.ApplyAsync(DataSource, Schema, CancellationToken.None).ConfigureAwait(false);
                foreach (var name in applied)
                {
                    Log.MigrationApplied(_logger, name, Schema);
                }

                return;
            }

            if ((await PostgresMigrations.FindMissingAsync(DataSource, Schema, CancellationToken.None).ConfigureAwait(false)) is [var missing, ..])
            {
                throw new InvalidOperationException(
                    $"MediaGen's PostgreSQL schema '{Schema}' lacks migration '{missing}'. Apply the migrations with " +
                    "PostgreSqlSchema.ApplyMigrationsAsync, or set MediaGen:PostgreSql:ApplyMigrationsOnStartup to true.");
            }
        }
        catch (Exception e) when (PostgresErrors.IsUnavailable(e))
        {
            throw PostgresErrors.Unavailable(e);
        }
    }

    /// <summary>A command on a pooled connection, once the schema is ready.</summary>
    public async ValueTask<NpgsqlCommand> CommandAsync(string sql, CancellationToken cancellationToken)
    {
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        return DataSource.CreateCommand(sql);
    }

    /// <summary>Runs <paramref name="command"/>, reading its rows with <paramref name="read"/>; failures to reach the server become <see cref="QueueUnavailableException"/>.</summary>
    public static async ValueTask<T> ReadAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, CancellationToken, ValueTask<T>> read, CancellationToken cancellationToken)
    {
        try
        {
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using var readerScope = reader.ConfigureAwait(false);
            return await read(reader, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (PostgresErrors.IsUnavailable(e))
        {
            throw PostgresErrors.Unavailable(e);
        }
        finally
        {
            await command.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Runs <paramref name="command"/> and returns the number of rows it changed.</summary>
    public static async ValueTask<int> NonQueryAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        try
        {
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (PostgresErrors.IsUnavailable(e))
        {
            throw PostgresErrors.Unavailable(e);
        }
        finally
        {
            await command.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Runs <paramref name="command"/> and returns its first column of its first row.</summary>
    public static async ValueTask<object?> ScalarAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        try
        {
            var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return value is DBNull ? null : value;
        }
        catch (Exception e) when (PostgresErrors.IsUnavailable(e))
        {
            throw PostgresErrors.Unavailable(e);
        }
        finally
        {
            await command.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Disposes without waiting for the listener's loop, which ends at its next wait.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        lock (_gate)
        {
            _listener?.Stop();
        }

        if (_owned)
        {
            DataSource.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        PostgresNotificationListener? listener;
        lock (_gate)
        {
            listener = _listener;
        }

        if (listener is not null)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        if (_owned)
        {
            await DataSource.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>Typed positional parameters (<c>$1</c>, <c>$2</c>, ...) with explicit database types, so function overloads resolve and nulls carry a type.</summary>
internal static class PostgresParameters
{
    public static NpgsqlCommand Text(this NpgsqlCommand command, string? value) => command.Add(value, NpgsqlDbType.Text);

    public static NpgsqlCommand Json(this NpgsqlCommand command, string? value) => command.Add(value, NpgsqlDbType.Json);

    public static NpgsqlCommand Bigint(this NpgsqlCommand command, long? value) => command.Add(value, NpgsqlDbType.Bigint);

    public static NpgsqlCommand Integer(this NpgsqlCommand command, int? value) => command.Add(value, NpgsqlDbType.Integer);

    public static NpgsqlCommand Smallint(this NpgsqlCommand command, short? value) => command.Add(value, NpgsqlDbType.Smallint);

    public static NpgsqlCommand Time(this NpgsqlCommand command, DateTimeOffset? value) => command.Add(value?.ToUniversalTime(), NpgsqlDbType.TimestampTz);

    private static NpgsqlCommand Add(this NpgsqlCommand command, object? value, NpgsqlDbType type)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value, NpgsqlDbType = type });
        return command;
    }
}
