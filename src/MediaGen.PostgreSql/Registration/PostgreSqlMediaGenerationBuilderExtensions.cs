using MediaGen;
using MediaGen.PostgreSql.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using static Microsoft.Extensions.DependencyInjection.MediaGenerationAdapterBuilderExtensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Puts MediaGen's job store, credit ledger, queue, event stream, cancel signal and provider pause store on PostgreSQL, or
/// all of them but the queue.
/// </summary>
public static class PostgreSqlMediaGenerationBuilderExtensions
{
    /// <summary>
    /// Uses PostgreSQL for the queue, job store, credit ledger and event stream, over a data source MediaGen creates from
    /// <see cref="PostgreSqlOptions.ConnectionString"/> and disposes with the container.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="PostgreSqlOptions"/>; <see cref="PostgreSqlOptions.ConnectionString"/> is required.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue, job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UsePostgreSql(this IMediaGenerationBuilder builder, Action<PostgreSqlOptions> configure) =>
        UsePostgreSql(builder, configure ?? throw new ArgumentNullException(nameof(configure)), section: null, dataSource: null, withQueue: true);

    /// <summary>
    /// Uses PostgreSQL with <see cref="PostgreSqlOptions"/> bound from <paramref name="section"/> (for example
    /// <c>MediaGen:PostgreSql</c>); an unknown key is a start-up error. MediaGen creates and disposes the data source.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section; its <c>ConnectionString</c> key is required.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue, job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UsePostgreSql(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        UsePostgreSql(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)), dataSource: null, withQueue: true);

    /// <summary>
    /// Uses PostgreSQL over a caller-owned data source. MediaGen never disposes <paramref name="dataSource"/>; the caller
    /// keeps it open for the container's lifetime. <see cref="PostgreSqlOptions.ConnectionString"/> is ignored.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="dataSource">The caller's data source.</param>
    /// <param name="configure">Configures <see cref="PostgreSqlOptions"/>, or null for the defaults.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue, job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UsePostgreSql(this IMediaGenerationBuilder builder, NpgsqlDataSource dataSource, Action<PostgreSqlOptions>? configure = null) =>
        UsePostgreSql(builder, configure, section: null, dataSource ?? throw new ArgumentNullException(nameof(dataSource)), withQueue: true);

    /// <summary>
    /// Uses PostgreSQL for the job store, credit ledger and event stream only, beside a queue from another system (for
    /// example Service Bus). The steps are then composed seam by seam, with the job store as the source of truth and the
    /// sweeper settling what a crash left open. MediaGen creates and disposes the data source.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="PostgreSqlOptions"/>; <see cref="PostgreSqlOptions.ConnectionString"/> is required.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UsePostgreSqlStore(this IMediaGenerationBuilder builder, Action<PostgreSqlOptions> configure) =>
        UsePostgreSql(builder, configure ?? throw new ArgumentNullException(nameof(configure)), section: null, dataSource: null, withQueue: false);

    /// <summary>
    /// Uses PostgreSQL for the job store, credit ledger and event stream only, with <see cref="PostgreSqlOptions"/> bound
    /// from <paramref name="section"/>; an unknown key is a start-up error. See
    /// <see cref="UsePostgreSqlStore(IMediaGenerationBuilder, Action{PostgreSqlOptions})"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section; its <c>ConnectionString</c> key is required.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UsePostgreSqlStore(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        UsePostgreSql(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)), dataSource: null, withQueue: false);

    /// <summary>
    /// Uses PostgreSQL for the job store, credit ledger and event stream only, over a caller-owned data source that MediaGen
    /// never disposes. See <see cref="UsePostgreSqlStore(IMediaGenerationBuilder, Action{PostgreSqlOptions})"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="dataSource">The caller's data source.</param>
    /// <param name="configure">Configures <see cref="PostgreSqlOptions"/>, or null for the defaults.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UsePostgreSqlStore(this IMediaGenerationBuilder builder, NpgsqlDataSource dataSource, Action<PostgreSqlOptions>? configure = null) =>
        UsePostgreSql(builder, configure, section: null, dataSource ?? throw new ArgumentNullException(nameof(dataSource)), withQueue: false);

    // Every overload funnels here: the options registered, bound and validated at start-up, the data source MediaGen owns
    // or the caller's, and the seams.
    private static IMediaGenerationBuilder UsePostgreSql(
        IMediaGenerationBuilder builder, Action<PostgreSqlOptions>? configure, IConfigurationSection? section, NpgsqlDataSource? dataSource, bool withQueue)
    {
        var options = builder.AddValidatedOptions<PostgreSqlOptions, PostgreSqlOptionsValidator>(configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys));
        if (dataSource is null)
        {
            options.Validate(
                o => !string.IsNullOrWhiteSpace(o.ConnectionString),
                "MediaGen:PostgreSql:ConnectionString is required: set it to the database, for example " +
                "'Host=db;Database=app;Username=mediagen;Password=...' (an Npgsql connection string), or pass your own NpgsqlDataSource to UsePostgreSql.");
            builder.Services.AddSingleton(sp =>
            {
                var current = sp.GetRequiredService<IOptions<PostgreSqlOptions>>().Value;
                var created = PostgresDataSources.Create(current.ConnectionString!, sp.GetService<ILoggerFactory>() ?? Logging.Abstractions.NullLoggerFactory.Instance);
                return Database(sp, created, owned: true);
            });
        }
        else
        {
            builder.Services.AddSingleton(sp => Database(sp, dataSource, owned: false));
        }

        return UseSeams(builder, withQueue);
    }

    private static PostgresDatabase Database(IServiceProvider services, NpgsqlDataSource dataSource, bool owned)
    {
        var options = services.GetRequiredService<IOptions<PostgreSqlOptions>>().Value;
        return new PostgresDatabase(
            dataSource,
            owned,
            options.SchemaName,
            options.ApplyMigrationsOnStartup,
            services.GetService<TimeProvider>() ?? TimeProvider.System,
            services.GetService<ILoggerFactory>()?.CreateLogger("MediaGen.PostgreSql") ?? Logging.Abstractions.NullLogger.Instance);
    }

    private static IMediaGenerationBuilder UseSeams(IMediaGenerationBuilder builder, bool withQueue)
    {
        if (withQueue)
        {
            builder.UseQueue(sp => ActivatorUtilities.CreateInstance<PostgresJobQueue>(sp, sp.GetRequiredService<PostgresDatabase>()));
        }

        builder.UseJobStore(sp => new PostgresJobStore(sp.GetRequiredService<PostgresDatabase>()));
        builder.UseCreditLedger(sp =>
        {
            var credits = sp.GetRequiredService<IOptionsMonitor<CreditLedgerOptions>>();
            return new PostgresCreditLedger(sp.GetRequiredService<PostgresDatabase>(), () => credits.CurrentValue.InitialBalance);
        });
        builder.UseEventStream(sp => ActivatorUtilities.CreateInstance<PostgresJobEventStream>(sp, sp.GetRequiredService<PostgresDatabase>()));

        // Shared by every process on the schema, whatever the queue: an owner's cancel reaches the worker running the job at
        // once, and a provider's 429 pauses it for every worker.
        builder.UseCancelSignal(sp => new PostgresJobCancelSignal(sp.GetRequiredService<PostgresDatabase>()));
        builder.UseProviderPauseStore(sp => new PostgresProviderPauseStore(sp.GetRequiredService<PostgresDatabase>()));

        // The dashboard lists every worker heartbeating on this database, not only this process's.
        builder.UseWorkerRegistry(sp => new PostgresWorkerRegistry(sp.GetRequiredService<PostgresDatabase>()));

        // The result cache serves, in every API process, what any worker generated.
        builder.UseResultCacheIndex(sp => new PostgresResultCacheIndex(sp.GetRequiredService<PostgresDatabase>()));

        // Each lifecycle step is one transaction when all four seams are this package's and still the ones in use; else
        // Core composes them.
        builder.AddLifecycleStore(LifecycleStore);

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PostgresStartup>());
        return builder;
    }

    private static readonly Func<IServiceProvider, IJobLifecycleStore?> LifecycleStore = PostgresJobLifecycleStore.TryCreate;
}
