using System.Collections.Concurrent;
using MediaGen.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MediaGen;

/// <summary>
/// Pauses every call to a provider after it answered 429, for the Retry-After it gave: every create and poll of every
/// job, in every process whose pauses share one <see cref="IProviderPauseStore"/> (the Redis backend's, or the in-memory
/// default's for one process). The worker defers a job of a paused provider instead of starting it, and the HTTP
/// generator kit waits here before each call. A pause only ever extends: a shorter one asked for while a longer one is
/// in force changes nothing, and none is longer than <see cref="MaxPause"/>. Time comes from the injected <see cref="TimeProvider"/>.
/// </summary>
/// <remarks>
/// Each wait and each check reads the shared deadline, so a pause another process starts holds here from the next call.
/// The gate also remembers the deadlines it set or read, and keeps to them when the store cannot be reached.
/// </remarks>
public sealed class ProviderRateGate
{
    private readonly IProviderPauseStore _pauses;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, long> _known = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _readAt = new(StringComparer.Ordinal);
    private int _waiters;

    /// <summary>
    /// The longest pause: a longer one asked for (a Retry-After of weeks, say, for a quota that resets monthly) is cut to
    /// this, and a caller that finds a longer one in the store (written by something that did not cut it) does not wait
    /// for it but fails rate-limited with the time left, for the worker to defer the job.
    /// </summary>
    public static TimeSpan MaxPause { get; } = TimeSpan.FromDays(1);

    /// <summary>How old a read of the store <see cref="GetRecentPauseAsync"/> may answer from.</summary>
    internal static readonly TimeSpan RecentReadAge = TimeSpan.FromSeconds(1);

    /// <summary>Creates a gate whose pauses hold in this process only.</summary>
    /// <param name="timeProvider">The clock pauses are measured on.</param>
    public ProviderRateGate(TimeProvider timeProvider)
        : this(new InMemoryProviderPauseStore(), timeProvider, NullLogger<ProviderRateGate>.Instance)
    {
    }

    /// <summary>Creates a gate whose pauses are kept in <paramref name="pauses"/>, shared with every process that uses it.</summary>
    /// <param name="pauses">Where the deadlines are kept.</param>
    /// <param name="timeProvider">The clock pauses are measured on.</param>
    /// <param name="logger">Logs a store that cannot be reached.</param>
    public ProviderRateGate(IProviderPauseStore pauses, TimeProvider timeProvider, ILogger<ProviderRateGate> logger)
    {
        ArgumentNullException.ThrowIfNull(pauses);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _pauses = pauses;
        _time = timeProvider;
        _logger = logger;
    }

    /// <summary>How many callers in this process are waiting for a pause to end (for tests and diagnostics).</summary>
    public int WaiterCount => Volatile.Read(ref _waiters);

    /// <summary>
    /// Pauses every call to <paramref name="provider"/> for <paramref name="duration"/> from now, unless a longer pause is
    /// already in force. A pause that cannot be written to the store still holds in this process.
    /// </summary>
    /// <param name="provider">The provider's generator name, such as <c>replicate</c>.</param>
    /// <param name="duration">How long to pause, at most <see cref="MaxPause"/>; zero or less pauses nothing.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The instant the pause in force ends.</returns>
    public async ValueTask<DateTimeOffset> PauseAsync(string provider, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        if (duration <= TimeSpan.Zero)
        {
            return await GetDeadlineAsync(provider, cancellationToken).ConfigureAwait(false);
        }

        if (duration > MaxPause)
        {
            duration = MaxPause;
        }

        var until = Remember(provider, _time.GetUtcNow() + duration);
        try
        {
            var inForce = await _pauses.ExtendAsync(provider, until, cancellationToken).ConfigureAwait(false);
            return Remember(provider, inForce);
        }
        catch (QueueUnavailableException e)
        {
            Log.PauseStoreUnavailable(_logger, provider, e);
            return Known(provider);
        }
    }

    /// <summary>The instant the pause of <paramref name="provider"/> in force ends, or null when calls may go ahead now.</summary>
    /// <param name="provider">The provider's generator name.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The end of the pause, or null.</returns>
    public async ValueTask<DateTimeOffset?> GetPausedUntilAsync(string provider, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        var until = await GetDeadlineAsync(provider, cancellationToken).ConfigureAwait(false);
        return until > _time.GetUtcNow() ? until : null;
    }

    /// <summary>
    /// Like <see cref="GetPausedUntilAsync"/>, but answers from this process's last read of the store when it is younger
    /// than <see cref="RecentReadAge"/>. For the worker's check before it starts a job, which only saves a slot: the
    /// calls to the provider themselves wait in <see cref="WaitAsync"/>, which always reads the store.
    /// </summary>
    internal async ValueTask<DateTimeOffset?> GetRecentPauseAsync(string provider, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (!_readAt.TryGetValue(provider, out var readAt) || now.UtcTicks - readAt >= RecentReadAge.Ticks)
        {
            _readAt[provider] = now.UtcTicks;
            return await GetPausedUntilAsync(provider, cancellationToken).ConfigureAwait(false);
        }

        var known = Known(provider);
        return known > now ? known : null;
    }

    /// <summary>Returns once no pause of <paramref name="provider"/> is in force (at once when there is none).</summary>
    /// <param name="provider">The provider's generator name.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>A task that completes when calls may go ahead.</returns>
    /// <exception cref="GenerationException">
    /// The pause in force ends more than <see cref="MaxPause"/> from now: rate-limited, with the time left as its
    /// <see cref="GenerationException.RetryAfter"/>, instead of a wait no attempt should make.
    /// </exception>
    public async ValueTask WaitAsync(string provider, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var until = await GetDeadlineAsync(provider, cancellationToken).ConfigureAwait(false);
            var remaining = until - _time.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                return;
            }

            if (remaining > MaxPause)
            {
                throw GenerationException.RateLimited(
                    $"Calls to {provider} are paused until {until:O}, longer than the {MaxPause} a call waits for a pause.", remaining);
            }

            // Read again after the wait: another process may have extended the pause meanwhile.
            Interlocked.Increment(ref _waiters);
            try
            {
                await Task.Delay(remaining, _time, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _waiters);
            }
        }
    }

    private async ValueTask<DateTimeOffset> GetDeadlineAsync(string provider, CancellationToken cancellationToken)
    {
        try
        {
            return await _pauses.GetAsync(provider, cancellationToken).ConfigureAwait(false) is { } stored ? Remember(provider, stored) : Known(provider);
        }
        catch (QueueUnavailableException e)
        {
            Log.PauseStoreUnavailable(_logger, provider, e);
            return Known(provider);
        }
    }

    private DateTimeOffset Remember(string provider, DateTimeOffset until)
    {
        var ticks = _known.AddOrUpdate(provider, static (_, ticks) => ticks, static (_, existing, ticks) => Math.Max(existing, ticks), until.UtcTicks);
        return new DateTimeOffset(ticks, TimeSpan.Zero);
    }

    private DateTimeOffset Known(string provider) =>
        new(_known.TryGetValue(provider, out var ticks) ? ticks : 0, TimeSpan.Zero);
}
