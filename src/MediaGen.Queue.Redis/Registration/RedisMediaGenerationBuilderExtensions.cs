using MediaGen;
using MediaGen.Queue.Redis.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Puts MediaGen's queue, job store, credit ledger, event stream, cancel signal and provider pause store on Redis, or all
/// of them but the queue.
/// </summary>
public static class RedisMediaGenerationBuilderExtensions
{
    private const string ProviderName = "Redis";

    /// <summary>
    /// Uses Redis for the queue, job store, credit ledger and event stream, over a connection MediaGen creates from
    /// <see cref="RedisQueueOptions.Configuration"/> and disposes with the container.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="RedisQueueOptions"/>; <see cref="RedisQueueOptions.Configuration"/> is required.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue, job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UseRedisQueue(this IMediaGenerationBuilder builder, Action<RedisQueueOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return UseOwnedConnection(builder);
    }

    /// <summary>
    /// Uses Redis with <see cref="RedisQueueOptions"/> bound from <paramref name="section"/> (for example
    /// <c>MediaGen:Redis</c>); an unknown key is a start-up error. MediaGen creates and disposes the connection.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section; its <c>Configuration</c> key is required.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue, job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UseRedisQueue(this IMediaGenerationBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        builder.Services.AddOptions<RedisQueueOptions>().Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        return UseOwnedConnection(builder);
    }

    /// <summary>
    /// Uses Redis over a caller-owned connection. MediaGen never disposes <paramref name="connection"/>; the caller
    /// keeps it open for the container's lifetime. <see cref="RedisQueueOptions.Configuration"/> is ignored.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connection">The caller's multiplexer.</param>
    /// <param name="configure">Configures <see cref="RedisQueueOptions"/>, or null for the defaults.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue, job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UseRedisQueue(this IMediaGenerationBuilder builder, IConnectionMultiplexer connection, Action<RedisQueueOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(connection);
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        // A RedisConnection wrapping a caller's multiplexer never disposes it, so the container may dispose the wrapper.
        return UseSeams(builder, sp => new RedisConnection(connection, Logger(sp)), withQueue: true);
    }

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
    public static IMediaGenerationBuilder UseRedisStore(this IMediaGenerationBuilder builder, Action<RedisQueueOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return UseOwnedConnection(builder, withQueue: false);
    }

    /// <summary>
    /// Uses Redis for the job store, credit ledger and event stream only, with <see cref="RedisQueueOptions"/> bound from
    /// <paramref name="section"/>; an unknown key is a start-up error. See <see cref="UseRedisStore(IMediaGenerationBuilder, Action{RedisQueueOptions})"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section; its <c>Configuration</c> key is required.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UseRedisStore(this IMediaGenerationBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        builder.Services.AddOptions<RedisQueueOptions>().Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        return UseOwnedConnection(builder, withQueue: false);
    }

    /// <summary>
    /// Uses Redis for the job store, credit ledger and event stream only, over a caller-owned connection that MediaGen
    /// never disposes. See <see cref="UseRedisStore(IMediaGenerationBuilder, Action{RedisQueueOptions})"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connection">The caller's multiplexer.</param>
    /// <param name="configure">Configures <see cref="RedisQueueOptions"/>, or null for the defaults.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UseRedisStore(this IMediaGenerationBuilder builder, IConnectionMultiplexer connection, Action<RedisQueueOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(connection);
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        return UseSeams(builder, sp => new RedisConnection(connection, Logger(sp)), withQueue: false);
    }

    private static IMediaGenerationBuilder UseOwnedConnection(IMediaGenerationBuilder builder, bool withQueue = true)
    {
        builder.Services.AddOptions<RedisQueueOptions>().Validate(
            o => !string.IsNullOrWhiteSpace(o.Configuration),
            "MediaGen:Redis:Configuration is required: set it to the Redis server, for example 'localhost:6379' (a StackExchange.Redis " +
            "configuration string), or pass your own IConnectionMultiplexer to UseRedisQueue.");
        return UseSeams(builder, sp =>
        {
            var options = sp.GetRequiredService<IOptions<RedisQueueOptions>>().Value;
            return new RedisConnection(options.Configuration!, Logger(sp), options.QueueCommandsWhileDisconnected);
        }, withQueue);
    }

    private static IMediaGenerationBuilder UseSeams(IMediaGenerationBuilder builder, Func<IServiceProvider, RedisConnection> connection, bool withQueue)
    {
        if (withQueue)
        {
            builder.UseQueue(ProviderName, sp => ActivatorUtilities.CreateInstance<RedisJobQueue>(sp, sp.GetRequiredService<RedisConnection>()));
        }

        builder.UseJobStore(ProviderName, sp => ActivatorUtilities.CreateInstance<RedisJobStore>(sp, sp.GetRequiredService<RedisConnection>()));
        builder.UseCreditLedger(ProviderName, sp =>
        {
            var credits = sp.GetRequiredService<IOptionsMonitor<CreditLedgerOptions>>();
            return new RedisCreditLedger(sp.GetRequiredService<RedisConnection>(), sp.GetRequiredService<IOptions<RedisQueueOptions>>(), () => credits.CurrentValue.InitialBalance, sp.GetService<TimeProvider>());
        });
        builder.UseEventStream(ProviderName, sp => ActivatorUtilities.CreateInstance<RedisJobEventStream>(sp, sp.GetRequiredService<RedisConnection>()));

        // Shared by every process on the key prefix, whatever the queue: an owner's cancel reaches the worker running the
        // job at once, and a provider's 429 pauses it for every worker.
        builder.UseCancelSignal(ProviderName, sp => ActivatorUtilities.CreateInstance<RedisJobCancelSignal>(sp, sp.GetRequiredService<RedisConnection>()));
        builder.UseProviderPauseStore(ProviderName, sp => ActivatorUtilities.CreateInstance<RedisProviderPauseStore>(sp, sp.GetRequiredService<RedisConnection>()));
        builder.UseWorkerRegistry(ProviderName, sp => ActivatorUtilities.CreateInstance<RedisWorkerRegistry>(sp, sp.GetRequiredService<RedisConnection>()));

        // The result cache serves, in every API process, what any worker generated.
        builder.UseResultCacheIndex(ProviderName, sp => ActivatorUtilities.CreateInstance<RedisResultCacheIndex>(sp, sp.GetRequiredService<RedisConnection>()));

        // Webhook deliveries wait in Redis: they survive a restart, and any process's dispatcher sends them.
        builder.UseWebhookOutbox(ProviderName, sp => ActivatorUtilities.CreateInstance<RedisWebhookOutbox>(sp, sp.GetRequiredService<RedisConnection>()));

        // Each lifecycle step is one script when all four seams are Redis's and still the ones in use; else Core composes them.
        builder.AddLifecycleStore(LifecycleStore);

        // A per-owner submission limit counts every API process's submissions.
        builder.UseSubmissionRateLimiter(sp => ActivatorUtilities.CreateInstance<RedisOwnerRateLimiter>(sp, sp.GetRequiredService<RedisConnection>()));

        var services = builder.Services;
        services.AddSingleton(connection);
        services.AddOptions<RedisQueueOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisQueueOptions>, RedisQueueOptionsValidator>());
        return builder;
    }

    private static readonly Func<IServiceProvider, IJobLifecycleStore?> LifecycleStore = RedisJobLifecycleStore.TryCreate;

    private static ILogger Logger(IServiceProvider services) =>
        services.GetService<ILoggerFactory>()?.CreateLogger("MediaGen.Queue.Redis") ?? Logging.Abstractions.NullLogger.Instance;
}
