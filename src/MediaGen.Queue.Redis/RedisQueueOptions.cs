using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MediaGen.Shared;

namespace MediaGen;

/// <summary>Options for MediaGen on Redis: the queue, job store, credit ledger and event stream.</summary>
/// <remarks>
/// Lease and delay times are computed from each process's <see cref="TimeProvider"/> and compared inside Redis,
/// so the clocks of the machines sharing one Redis must agree to well within <see cref="LeaseDuration"/>
/// (NTP-synchronised clocks, a skew of milliseconds, are enough). A worker whose clock runs ahead expires
/// other workers' leases early; one whose clock runs behind sees them expire late.
/// </remarks>
public sealed class RedisQueueOptions
{
    /// <summary>
    /// The StackExchange.Redis configuration string, for example <c>localhost:6379</c> or
    /// <c>redis1:6379,redis2:6379,password=...,ssl=true</c>. Not used when a caller-owned connection is passed in.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? Configuration { get; set; }

    /// <summary>
    /// The prefix of every key. All keys share it as a hash tag (<c>{mediagen}:...</c>), so the Lua scripts work on
    /// a Redis cluster too (all state then lives on one shard). Use a different prefix per environment sharing one Redis.
    /// </summary>
    /// <value>The default value is <c>mediagen</c>.</value>
    [Required]
    [RegularExpression(@"^[A-Za-z0-9_.:\-]{1,64}$", ErrorMessage = "The key prefix must be 1 to 64 letters, digits, '_', '.', ':' or '-'.")]
    public string KeyPrefix { get; set; } = "mediagen";

    /// <summary>The queue's name under <see cref="KeyPrefix"/>.</summary>
    /// <value>The default value is <c>jobs</c>.</value>
    [Required]
    [RegularExpression(@"^[A-Za-z0-9_.\-]{1,64}$", ErrorMessage = "The queue name must be 1 to 64 letters, digits, '_', '.' or '-'.")]
    public string QueueName { get; set; } = "jobs";

    /// <summary>How long a received message stays invisible before it is delivered again, unless its lease is renewed or settled.</summary>
    /// <value>The default value is 30 seconds.</value>
    [TimeSpanRange("00:00:00.010", "1.00:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a finished (succeeded, failed or canceled) job is kept in the job store after it finished;
    /// <see langword="null"/> keeps finished jobs until they are deleted.
    /// </summary>
    /// <value>The default value is 7 days.</value>
    [TimeSpanRange("00:00:01", "3650.00:00:00")]
    public TimeSpan? FinishedJobRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The most messages one receive takes from Redis in one round trip, whatever the caller asks for.</summary>
    /// <value>The default value is 256.</value>
    [Range(1, 10_000)]
    public int MaxReceiveBatchSize { get; set; } = 256;

    /// <summary>
    /// Whether calls made while the connection MediaGen created is down wait (up to the configuration string's
    /// <c>asyncTimeout</c>) for it to come back instead of failing at once. By default they fail at once with
    /// <see cref="QueueUnavailableException"/> (the sample API answers 503) while the connection is restored in the
    /// background. Not used for a caller-owned connection, whose own settings apply.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool QueueCommandsWhileDisconnected { get; set; }

    /// <summary>
    /// Whether the connection MediaGen creates completes Redis's answers on .NET's thread pool (StackExchange.Redis's
    /// <c>SocketManager.ThreadPool</c>) instead of StackExchange.Redis's own dedicated threads (its default). On two
    /// cores a worker host with this on spent about half the client CPU per job receiving one message at a time (and
    /// took about 1.9 times the jobs per second), and 10-23% less in the full pipeline at concurrency 16; an API host
    /// under 64 concurrent connections took 15-29% fewer submissions per second, because its answers then wait behind
    /// the requests in the thread pool's queue (see the Redis package's README). Turn it on for worker hosts; leave it
    /// off for API hosts and for processes that block thread-pool threads on asynchronous code. Not used for a
    /// caller-owned connection, whose own settings apply.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool UseThreadPoolSocketManager { get; set; }

    /// <summary>
    /// While a receive waits for messages it is woken by a Redis notification when one is enqueued; it also checks
    /// the queue at this interval in case a notification was lost (for example while the connection was restored).
    /// </summary>
    /// <value>The default value is 5 seconds.</value>
    [TimeSpanRange("00:00:00.010", "00:10:00")]
    public TimeSpan IdleCheckInterval { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>Validates <see cref="RedisQueueOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class RedisQueueOptionsValidator : IValidateOptions<RedisQueueOptions>
{
}
