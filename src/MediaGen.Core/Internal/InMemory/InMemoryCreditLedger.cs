using Microsoft.Extensions.Options;

namespace MediaGen.Internal;

/// <summary>The in-memory <see cref="ICreditLedger"/>: balances and per-job reservations under one lock.</summary>
internal sealed class InMemoryCreditLedger(IOptions<CreditLedgerOptions> options) : ICreditLedger
{
    private readonly Lock _gate = new();
    private readonly long _initialBalance = options.Value.InitialBalance;
    private readonly Dictionary<string, long> _balances = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Owner, string JobId), Reservation> _reservations = [];

    public ValueTask<CreditReservation> ReserveAsync(string ownerId, string jobId, long amount, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        lock (_gate)
        {
            var balance = BalanceOf(ownerId);
            if (_reservations.TryGetValue((ownerId, jobId), out var existing))
            {
                return ValueTask.FromResult(new CreditReservation(jobId, existing.Amount, balance, Created: false));
            }

            if (balance < amount)
            {
                throw new InsufficientCreditsException(ownerId, amount, balance);
            }

            balance -= amount;
            _balances[ownerId] = balance;
            _reservations[(ownerId, jobId)] = new Reservation(amount);
            return ValueTask.FromResult(new CreditReservation(jobId, amount, balance, Created: true));
        }
    }

    public ValueTask<long> RefundAsync(string ownerId, string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        lock (_gate)
        {
            if (!_reservations.TryGetValue((ownerId, jobId), out var reservation) || reservation.Refunded)
            {
                return ValueTask.FromResult(0L);
            }

            reservation.Refunded = true;
            _balances[ownerId] = BalanceOf(ownerId) + reservation.Amount;
            return ValueTask.FromResult(reservation.Amount);
        }
    }

    public ValueTask<long> GetBalanceAsync(string ownerId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        lock (_gate)
        {
            return ValueTask.FromResult(BalanceOf(ownerId));
        }
    }

    public ValueTask<long> GrantAsync(string ownerId, long amount, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(amount);
        lock (_gate)
        {
            var balance = checked(BalanceOf(ownerId) + amount);
            _balances[ownerId] = balance;
            return ValueTask.FromResult(balance);
        }
    }

    private long BalanceOf(string ownerId) => _balances.TryGetValue(ownerId, out var balance) ? balance : _initialBalance;

    private sealed class Reservation(long amount)
    {
        public long Amount { get; } = amount;

        public bool Refunded { get; set; }
    }
}
