using Npgsql;

namespace MediaGen.PostgreSql.Internal;

/// <summary>
/// The process's one <c>LISTEN</c> connection to a database, shared by the queue's wake-ups, the event stream and the
/// cancel signal. A loop owns the connection: it runs the <c>LISTEN</c> and <c>UNLISTEN</c> commands the subscriptions
/// need, then waits for notifications and hands each to the handlers of its channel, in the order they arrive. A new
/// subscription wakes the waiting loop with a notification on a channel of its own (a connection cannot run a command
/// while it waits), and returns once its <c>LISTEN</c> has run, so every notification committed after that reaches it.
/// A lost connection is opened again in the background; notifications sent meanwhile are lost, which
/// <see cref="Reconnected"/> lets the queue make up for.
/// </summary>
internal sealed class PostgresNotificationListener : IAsyncDisposable
{
    /// <summary>How long the loop waits for a notification before it looks at its subscriptions again.</summary>
    private static readonly TimeSpan WaitInterval = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan ReconnectDelay = TimeSpan.FromSeconds(1);

    private readonly PostgresDatabase _database;
    private readonly string _controlChannel;
    private readonly object _gate = new();
    private readonly Dictionary<string, Subscription[]> _channels = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource? _pendingSync;
    private Task? _loop;
    private bool _stopping;

    public PostgresNotificationListener(PostgresDatabase database)
    {
        _database = database;
        _controlChannel = PostgresChannels.Prefix(database.Schema) + "l." + Guid.NewGuid().ToString("N");
    }

    /// <summary>Raised after the connection was lost and opened again: notifications sent meanwhile were lost.</summary>
    public event Action? Reconnected;

    /// <summary>
    /// Calls <paramref name="handler"/> with the payload of every notification on <paramref name="channel"/> committed after
    /// the returned task completes, until the returned subscription is disposed. The handler runs on the listener's
    /// thread: it must return quickly and must not throw.
    /// </summary>
    /// <exception cref="QueueUnavailableException">The database cannot be reached.</exception>
    public async ValueTask<IAsyncDisposable> ListenAsync(string channel, Action<string> handler, CancellationToken cancellationToken)
    {
        var subscription = new Subscription(this, channel, handler);
        Task synced;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            _channels[channel] = _channels.TryGetValue(channel, out var existing) ? [.. existing, subscription] : [subscription];
            synced = (_pendingSync ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            _loop ??= Task.Run(RunAsync);
        }

        try
        {
            await WakeAsync(cancellationToken).ConfigureAwait(false);
            await synced.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Remove(subscription);
            throw;
        }

        return subscription;
    }

    /// <summary>Stops the loop without waiting for it: it ends at its next wait, within <see cref="WaitInterval"/>.</summary>
    public void Stop()
    {
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
        }

        _stop.Cancel();
    }

    public async ValueTask DisposeAsync()
    {
        Task? loop;
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
            loop = _loop;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (loop is not null)
        {
            try
            {
                await WakeAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is QueueUnavailableException or ObjectDisposedException)
            {
                // The loop ends at its next wait anyway.
            }

            await loop.ConfigureAwait(false);
        }
    }

    private void Remove(Subscription subscription)
    {
        lock (_gate)
        {
            if (!_channels.TryGetValue(subscription.Channel, out var existing))
            {
                return;
            }

            var remaining = Array.FindAll(existing, s => !ReferenceEquals(s, subscription));
            if (remaining.Length > 0)
            {
                _channels[subscription.Channel] = remaining;
            }
            else
            {
                // UNLISTEN waits for the loop's next look: until then the channel's notifications find no handler.
                _channels.Remove(subscription.Channel);
            }
        }
    }

    /// <summary>Wakes the loop out of its wait with a notification on its own channel.</summary>
    private async Task WakeAsync(CancellationToken cancellationToken)
    {
        var command = _database.DataSource.CreateCommand("SELECT pg_notify($1, '')");
        await using var commandScope = command.ConfigureAwait(false);
        command.Text(_controlChannel);
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (PostgresErrors.IsUnavailable(e))
        {
            throw PostgresErrors.Unavailable(e);
        }
    }

    private async Task RunAsync()
    {
        NpgsqlConnection? connection = null;
        var listening = new HashSet<string>(StringComparer.Ordinal);
        var connectedBefore = false;
        var reconnected = false;
        while (!_stop.IsCancellationRequested)
        {
            TaskCompletionSource? sync = null;
            try
            {
                if (connection is null)
                {
                    connection = await _database.DataSource.OpenConnectionAsync(_stop.Token).ConfigureAwait(false);
                    connection.Notification += OnNotification;
                    listening.Clear();
                    await ExecuteAsync(connection, "LISTEN " + PostgresChannels.Quote(_controlChannel)).ConfigureAwait(false);
                    reconnected = connectedBefore;
                    connectedBefore = true;
                }

                string[] wanted;
                lock (_gate)
                {
                    sync = _pendingSync;
                    _pendingSync = null;
                    wanted = [.. _channels.Keys];
                }

                var commands = new List<string>();
                foreach (var channel in wanted)
                {
                    if (listening.Add(channel))
                    {
                        commands.Add("LISTEN " + PostgresChannels.Quote(channel));
                    }
                }

                foreach (var channel in listening.Except(wanted, StringComparer.Ordinal).ToList())
                {
                    listening.Remove(channel);
                    commands.Add("UNLISTEN " + PostgresChannels.Quote(channel));
                }

                if (commands.Count > 0)
                {
                    await ExecuteAsync(connection, string.Join("; ", commands)).ConfigureAwait(false);
                }

                sync?.TrySetResult();
                sync = null;

                // Only now that every channel is listened to again: a look prompted by this sees all that the outage hid.
                if (reconnected)
                {
                    reconnected = false;
                    Log.ListenerReconnected(_database.Logger, _database.Schema);
                    Reconnected?.Invoke();
                }

                bool idle;
                lock (_gate)
                {
                    idle = _pendingSync is null && !_stopping;
                }

                if (idle)
                {
                    await connection.WaitAsync(WaitInterval).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (!_stop.IsCancellationRequested)
            {
                Log.ListenerFailed(_database.Logger, _database.Schema, e);
                var unavailable = PostgresErrors.IsUnavailable(e) ? PostgresErrors.Unavailable(e) : e;
                TaskCompletionSource? waiting;
                lock (_gate)
                {
                    waiting = _pendingSync;
                    _pendingSync = null;
                }

                sync?.TrySetException(unavailable);
                waiting?.TrySetException(unavailable);
                connection = await CloseAsync(connection).ConfigureAwait(false);
                try
                {
                    await Task.Delay(ReconnectDelay, _database.TimeProvider, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            catch (Exception)
            {
                sync?.TrySetCanceled();
                break;
            }
        }

        lock (_gate)
        {
            _pendingSync?.TrySetException(new ObjectDisposedException(nameof(PostgresNotificationListener)));
            _pendingSync = null;
        }

        await CloseAsync(connection).ConfigureAwait(false);
        _stop.Dispose();
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        var command = new NpgsqlCommand(sql, connection);
        await using var commandScope = command.ConfigureAwait(false);
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    private async Task<NpgsqlConnection?> CloseAsync(NpgsqlConnection? connection)
    {
        if (connection is not null)
        {
            connection.Notification -= OnNotification;
            try
            {
                // The connection goes back to the pool, which may not reset sessions (No Reset On Close): it must not
                // stay subscribed, or PostgreSQL would queue every notification for a connection nobody reads. A lost
                // connection fails here and is not pooled again.
                if (connection.State == System.Data.ConnectionState.Open)
                {
                    await ExecuteAsync(connection, "UNLISTEN *").ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is NpgsqlException or IOException or ObjectDisposedException or InvalidOperationException)
            {
                // Broken meanwhile: the pool drops it.
            }

            try
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is NpgsqlException or IOException or ObjectDisposedException)
            {
                // A broken connection cannot be closed cleanly; it is gone either way.
            }
        }

        return null;
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        Subscription[]? handlers;
        lock (_gate)
        {
            _channels.TryGetValue(e.Channel, out handlers);
        }

        if (handlers is null)
        {
            return;
        }

        foreach (var subscription in handlers)
        {
            subscription.Deliver(e.Payload);
        }
    }

    private sealed class Subscription(PostgresNotificationListener listener, string channel, Action<string> handler) : IAsyncDisposable, IDisposable
    {
        private int _disposed;

        public string Channel => channel;

        public void Deliver(string payload)
        {
            if (Volatile.Read(ref _disposed) == 0)
            {
                handler(payload);
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                listener.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
