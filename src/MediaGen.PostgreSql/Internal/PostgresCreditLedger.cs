namespace MediaGen.PostgreSql.Internal;

/// <summary>
/// The credit ledger on PostgreSQL (functions <c>ledger_*</c> of the migrations): a balance row per owner, which every
/// change of that owner's credits locks first, so a balance is checked and changed atomically and never goes below zero
/// (a CHECK constraint stands behind that too); a reservation row per owner and job, which makes the reservation and its
/// settlement happen once; and an append-only entry per movement, for audit.
/// </summary>
internal sealed class PostgresCreditLedger : ICreditLedger
{
    private readonly PostgresDatabase _database;
    private readonly Func<long> _initialBalance;
    private readonly string _schema;

    /// <summary>Creates the ledger; <paramref name="initialBalance"/> reads the balance of an owner never seen (CreditLedgerOptions.InitialBalance).</summary>
    public PostgresCreditLedger(PostgresDatabase database, Func<long> initialBalance)
    {
        _database = database;
        _initialBalance = initialBalance;
        _schema = database.QuotedSchema;
    }

    internal PostgresDatabase Database => _database;

    /// <summary>The balance of an owner never seen.</summary>
    internal long InitialBalance => _initialBalance();

    public async ValueTask<CreditReservation> ReserveAsync(string ownerId, string jobId, long amount, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        var command = (await _database.CommandAsync($"SELECT outcome, amount, balance FROM {_schema}.ledger_reserve($1, $2, $3, $4, $5)", cancellationToken).ConfigureAwait(false))
            .Text(ownerId).Text(jobId).Bigint(amount).Bigint(InitialBalance).Time(_database.TimeProvider.GetUtcNow());
        var (outcome, reserved, balance) = await PostgresDatabase.ReadAsync(
            command,
            async (reader, ct) =>
            {
                await reader.ReadAsync(ct).ConfigureAwait(false);
                return (reader.GetInt32(0), reader.GetInt64(1), reader.GetInt64(2));
            },
            cancellationToken).ConfigureAwait(false);
        return outcome == -1
            ? throw new InsufficientCreditsException(ownerId, amount, balance)
            : new CreditReservation(jobId, reserved, balance, Created: outcome == 1);
    }

    public ValueTask<long> RefundAsync(string ownerId, string jobId, CancellationToken cancellationToken = default) =>
        SettleCoreAsync(ownerId, jobId, null, cancellationToken);

    public ValueTask<long> SettleAsync(string ownerId, string jobId, long refund, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(refund);
        return SettleCoreAsync(ownerId, jobId, refund, cancellationToken);
    }

    private async ValueTask<long> SettleCoreAsync(string ownerId, string jobId, long? refund, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var command = (await _database.CommandAsync($"SELECT {_schema}.ledger_settle($1, $2, $3, $4, $5)", cancellationToken).ConfigureAwait(false))
            .Text(ownerId).Text(jobId).Bigint(refund).Bigint(InitialBalance).Time(_database.TimeProvider.GetUtcNow());
        return (long)(await PostgresDatabase.ScalarAsync(command, cancellationToken).ConfigureAwait(false))!;
    }

    public async ValueTask<IReadOnlyList<OpenReservation>> ListOpenReservationsAsync(DateTimeOffset reservedBefore, int maxCount, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        var command = (await _database.CommandAsync(
            $"SELECT owner_id, job_id, amount, reserved_at FROM {_schema}.credit_reservations WHERE refunded IS NULL AND reserved_at < $1 ORDER BY reserved_at LIMIT $2",
            cancellationToken).ConfigureAwait(false))
            .Time(reservedBefore).Integer(maxCount);
        return await PostgresDatabase.ReadAsync<IReadOnlyList<OpenReservation>>(
            command,
            async (reader, ct) =>
            {
                var open = new List<OpenReservation>();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    open.Add(new OpenReservation(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetFieldValue<DateTimeOffset>(3)));
                }

                return open;
            },
            cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<long> GetBalanceAsync(string ownerId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        var command = (await _database.CommandAsync($"SELECT balance FROM {_schema}.credit_balances WHERE owner_id = $1", cancellationToken).ConfigureAwait(false)).Text(ownerId);
        return (long?)await PostgresDatabase.ScalarAsync(command, cancellationToken).ConfigureAwait(false) ?? InitialBalance;
    }

    public async ValueTask<long> GrantAsync(string ownerId, long amount, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(amount);
        var command = (await _database.CommandAsync($"SELECT {_schema}.ledger_grant($1, $2, $3, $4)", cancellationToken).ConfigureAwait(false))
            .Text(ownerId).Bigint(amount).Bigint(InitialBalance).Time(_database.TimeProvider.GetUtcNow());
        return (long)(await PostgresDatabase.ScalarAsync(command, cancellationToken).ConfigureAwait(false))!;
    }
}
