using MediaGen;
using MediaGen.Queue.Redis.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using static Microsoft.Extensions.DependencyInjection.MediaGenerationAdapterBuilderExtensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Puts MediaGen's queue, job store, credit ledger, event stream, cancel signal and provider pause store on Redis, or all
/// of them but the queue.
/// </summary>
public static class RedisMediaGenerationBuilderExtensions
{
    /// <summary>
    /// Uses Redis for the queue, job store, credit ledger and event stream, over a connection MediaGen creates from
    /// <see cref="RedisQueueOptions.Configuration"/> and disposes with the container.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="RedisQueueOptions"/>; <see cref="RedisQueueOptions.Configuration"/> is required.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue, job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UseRedisQueue(this IMediaGenerationBuilder builder, Action<RedisQueueOptions> configure) =>
        UseRedis(builder, configure ?? throw new ArgumentNullException(nameof(configure)), section: null, connection: null, withQueue: true);

    /// <summary>
    /// Uses Redis with <see cref="RedisQueueOptions"/> bound from <paramref name="section"/> (for example
    /// <c>MediaGen:Redis</c>); an unknown key is a start-up error. MediaGen creates and disposes the connection.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section; its <c>Configuration</c> key is required.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue, job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UseRedisQueue(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        UseRedis(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)), connection: null, withQueue: true);

    /// <summary>
    /// Uses Redis over a caller-owned connection. MediaGen never disposes <paramref name="connection"/>; the caller
    /// keeps it open for the container's lifetime. <see cref="RedisQueueOptions.Configuration"/> is ignored.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connection">The caller's multiplexer.</param>
    /// <param name="configure">Configures <see cref="RedisQueueOptions"/>, or null for the defaults.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue, job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UseRedisQueue(this IMediaGenerationBuilder builder, IConnectionMultiplexer connection, Action<RedisQueueOptions>? configure = null) =>
        UseRedis(builder, configure, section: null, connection ?? throw new ArgumentNullException(nameof(connection)), withQueue: true);

    /// <summary>
    /// Uses Redis for the job store, credit ledger and event stream only, beside a queue from another system (for example
    /// Service Bus), so API and worker processes share one state. The steps are then composed seam by seam, with the job
    /// store as the source of truth and the sweeper settling what a crash left open. MediaGen creates and disposes the
    /// connection.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="RedisQueueOptions"/>; <see cref="RedisQueueOptions.Configuration"/> is required.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UseRedisStore(this IMediaGenerationBuilder builder, Action<RedisQueueOptions> configure) =>
        UseRedis(builder, configure ?? throw new ArgumentNullException(nameof(configure)), section: null, connection: null, withQueue: false);

    /// <summary>
    /// Uses Redis for the job store, credit ledger and event stream only, with <see cref="RedisQueueOptions"/> bound from
    /// <paramref name="section"/>; an unknown key is a start-up error. See <see cref="UseRedisStore(IMediaGenerationBuilder, Action{RedisQueueOptions})"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section; its <c>Configuration</c> key is required.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UseRedisStore(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        UseRedis(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)), connection: null, withQueue: false);

    /// <summary>
    /// Uses Redis for the job store, credit ledger and event stream only, over a caller-owned connection that MediaGen
    /// never disposes. See <see cref="UseRedisStore(IMediaGenerationBuilder, Action{RedisQueueOptions})"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connection">The caller's multiplexer.</param>
    /// <param name="configure">Configures <see cref="RedisQueueOptions"/>, or null for the defaults.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UseRedisStore(this IMediaGenerationBuilder builder, IConnectionMultiplexer connection, Action<RedisQueueOptions>? configure = null) =>
        UseRedis(builder, configure, section: null, connection ?? throw new ArgumentNullException(nameof(connection)), withQueue: false);

    // Every overload funnels here: the options registered, bound and validated at start-up, the connection MediaGen owns
    // or the caller's, and the seams.
    private static IMediaGenerationBuilder UseRedis(
        IMediaGenerationBuilder builder, Action<RedisQueueOptions>? configure, IConfigurationSection? section, IConnectionMultiplexer? connection, bool withQueue)
    {
        var options = builder.AddValidatedOptions<RedisQueueOptions, RedisQueueOptionsValidator>(configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys));
        if (connection is null)
        {
            options.Validate(
                o => !string.IsNullOrWhiteSpace(o.Configuration),
                "MediaGen:Redis:Configuration is required: set it to the Redis server, for example 'localhost:6379' (a StackExchange.Redis " +
                "configuration string), or pass your own IConnectionMultiplexer to UseRedisQueue.");
            builder.Services.AddSingleton(sp =>
            {
                var current = sp.GetRequiredService<IOptions<RedisQueueOptions>>().Value;
                return new RedisConnection(current.Configuration!, Logger(sp), current.QueueCommandsWhileDisconnected, current.UseThreadPoolSocketManager);
            });
        }
        else
        {
            // A RedisConnection wrapping a caller's multiplexer never disposes it, so the container may dispose the wrapper.
            builder.Services.AddSingleton(sp => new RedisConnection(connection, Logger(sp)));
        }

        if (withQueue)
        {
            builder.UseQueue(sp => ActivatorUtilities.CreateInstance<RedisJobQueue>(sp, sp.GetRequiredService<RedisConnection>()));
        }

        builder.UseJobStore(sp => ActivatorUtilities.CreateInstance<RedisJobStore>(sp, sp.GetRequiredService<RedisConnection>()));
        builder.UseCreditLedger(sp =>
        {
            var credits = sp.GetRequiredService<IOptionsMonitor<CreditLedgerOptions>>();
            return new RedisCreditLedger(sp.GetRequiredService<RedisConnection>(), sp.GetRequiredService<IOptions<RedisQueueOptions>>(), () => credits.CurrentValue.InitialBalance, sp.GetService<TimeProvider>());
        });
        builder.UseEventStream(sp => ActivatorUtilities.CreateInstance<RedisJobEventStream>(sp, sp.GetRequiredService<RedisConnection>()));

        // Shared by every process on the key prefix, whatever the queue: an owner's cancel reaches the worker running the
        // job at once, and a provider's 429 pauses it for every worker.
        builder.UseCancelSignal(sp => ActivatorUtilities.CreateInstance<RedisJobCancelSignal>(sp, sp.GetRequiredService<RedisConnection>()));
        builder.UseProviderPauseStore(sp => ActivatorUtilities.CreateInstance<RedisProviderPauseStore>(sp, sp.GetRequiredService<RedisConnection>()));
        builder.UseWorkerRegistry(sp => ActivatorUtilities.CreateInstance<RedisWorkerRegistry>(sp, sp.GetRequiredService<RedisConnection>()));

        // The result cache serves, in every API process, what any worker generated.
        builder.UseResultCacheIndex(sp => ActivatorUtilities.CreateInstance<RedisResultCacheIndex>(sp, sp.GetRequiredService<RedisConnection>()));

        // Webhook deliveries wait in Redis: they survive a restart, and any process's dispatcher sends them.
        builder.UseWebhookOutbox(sp => ActivatorUtilities.CreateInstance<RedisWebhookOutbox>(sp, sp.GetRequiredService<RedisConnection>()));

        // Each lifecycle step is one script when all four seams are Redis's and still the ones in use; else Core composes them.
        builder.AddLifecycleStore(LifecycleStore);

        // A per-owner submission limit counts every API process's submissions.
        builder.UseSubmissionRateLimiter(sp => ActivatorUtilities.CreateInstance<RedisOwnerRateLimiter>(sp, sp.GetRequiredService<RedisConnection>()));

        return builder;
    }

    private static readonly Func<IServiceProvider, IJobLifecycleStore?> LifecycleStore = RedisJobLifecycleStore.TryCreate;

    private static ILogger Logger(IServiceProvider services) =>
        services.GetService<ILoggerFactory>()?.CreateLogger("MediaGen.Queue.Redis") ?? Logging.Abstractions.NullLogger.Instance;
}
