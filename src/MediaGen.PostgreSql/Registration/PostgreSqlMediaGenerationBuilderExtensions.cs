using MediaGen;
using MediaGen.PostgreSql.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Puts MediaGen's job store, credit ledger, queue, event stream, cancel signal and provider pause store on PostgreSQL, or
/// all of them but the queue.
/// </summary>
public static class PostgreSqlMediaGenerationBuilderExtensions
{
    private const string ProviderName = "PostgreSql";

    /// <summary>
    /// Uses PostgreSQL for the queue, job store, credit ledger and event stream, over a data source MediaGen creates from
    /// <see cref="PostgreSqlOptions.ConnectionString"/> and disposes with the container.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="PostgreSqlOptions"/>; <see cref="PostgreSqlOptions.ConnectionString"/> is required.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue, job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UsePostgreSql(this IMediaGenerationBuilder builder, Action<PostgreSqlOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return UseOwnedDataSource(builder, withQueue: true);
    }

    /// <summary>
    /// Uses PostgreSQL with <see cref="PostgreSqlOptions"/> bound from <paramref name="section"/> (for example
    /// <c>MediaGen:PostgreSql</c>); an unknown key is a start-up error. MediaGen creates and disposes the data source.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section; its <c>ConnectionString</c> key is required.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue, job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UsePostgreSql(this IMediaGenerationBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        builder.Services.AddOptions<PostgreSqlOptions>().Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        return UseOwnedDataSource(builder, withQueue: true);
    }

    /// <summary>
    /// Uses PostgreSQL over a caller-owned data source. MediaGen never disposes <paramref name="dataSource"/>; the caller
    /// keeps it open for the container's lifetime. <see cref="PostgreSqlOptions.ConnectionString"/> is ignored.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="dataSource">The caller's data source.</param>
    /// <param name="configure">Configures <see cref="PostgreSqlOptions"/>, or null for the defaults.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue, job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UsePostgreSql(this IMediaGenerationBuilder builder, NpgsqlDataSource dataSource, Action<PostgreSqlOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(dataSource);
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        return UseSeams(builder, sp => Database(sp, dataSource, owned: false), withQueue: true);
    }

    /// <summary>
    /// Uses PostgreSQL for the job store, credit ledger and event stream only, beside a queue from another system (for
    /// example Service Bus). The steps are then composed seam by seam, with the job store as the source of truth and the
    /// sweeper settling what a crash left open. MediaGen creates and disposes the data source.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="PostgreSqlOptions"/>; <see cref="PostgreSqlOptions.ConnectionString"/> is required.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UsePostgreSqlStore(this IMediaGenerationBuilder builder, Action<PostgreSqlOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return UseOwnedDataSource(builder, withQueue: false);
    }

    /// <summary>
    /// Uses PostgreSQL for the job store, credit ledger and event stream only, with <see cref="PostgreSqlOptions"/> bound
    /// from <paramref name="section"/>; an unknown key is a start-up error. See
    /// <see cref="UsePostgreSqlStore(IMediaGenerationBuilder, Action{PostgreSqlOptions})"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section; its <c>ConnectionString</c> key is required.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UsePostgreSqlStore(this IMediaGenerationBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        builder.Services.AddOptions<PostgreSqlOptions>().Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        return UseOwnedDataSource(builder, withQueue: false);
    }

    /// <summary>
    /// Uses PostgreSQL for the job store, credit ledger and event stream only, over a caller-owned data source that MediaGen
    /// never disposes. See <see cref="UsePostgreSqlStore(IMediaGenerationBuilder, Action{PostgreSqlOptions})"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="dataSource">The caller's data source.</param>
    /// <param name="configure">Configures <see cref="PostgreSqlOptions"/>, or null for the defaults.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another job store, credit ledger, event stream, cancel signal or provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UsePostgreSqlStore(this IMediaGenerationBuilder builder, NpgsqlDataSource dataSource, Action<PostgreSqlOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(dataSource);
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        return UseSeams(builder, sp => Database(sp, dataSource, owned: false), withQueue: false);
    }

    private static IMediaGenerationBuilder UseOwnedDataSource(IMediaGenerationBuilder builder, bool withQueue)
    {
        builder.Services.AddOptions<PostgreSqlOptions>().Validate(
            o => !string.IsNullOrWhiteSpace(o.ConnectionString),
            "MediaGen:PostgreSql:ConnectionString is required: set it to the database, for example " +
            "'Host=db;Database=app;Username=mediagen;Password=...' (an Npgsql connection string), or pass your own NpgsqlDataSource to UsePostgreSql.");
        return UseSeams(
            builder,
            sp =>
            {
                var options = sp.GetRequiredService<IOptions<PostgreSqlOptions>>().Value;
                var dataSource = PostgresDataSources.Create(options.ConnectionString!, sp.GetService<ILoggerFactory>() ?? Logging.Abstractions.NullLoggerFactory.Instance);
                return Database(sp, dataSource, owned: true);
            },
            withQueue);
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

    private static IMediaGenerationBuilder UseSeams(IMediaGenerationBuilder builder, Func<IServiceProvider, PostgresDatabase> database, bool withQueue)
    {
        if (withQueue)
        {
            builder.UseQueue(ProviderName, sp => ActivatorUtilities.CreateInstance<PostgresJobQueue>(sp, sp.GetRequiredService<PostgresDatabase>()));
        }

        builder.UseJobStore(ProviderName, sp => new PostgresJobStore(sp.GetRequiredService<PostgresDatabase>()));
        builder.UseCreditLedger(ProviderName, sp =>
        {
            var credits = sp.GetRequiredService<IOptionsMonitor<CreditLedgerOptions>>();
            return new PostgresCreditLedger(sp.GetRequiredService<PostgresDatabase>(), () => credits.CurrentValue.InitialBalance);
        });
        builder.UseEventStream(ProviderName, sp => ActivatorUtilities.CreateInstance<PostgresJobEventStream>(sp, sp.GetRequiredService<PostgresDatabase>()));

        // Shared by every process on the schema, whatever the queue: an owner's cancel reaches the worker running the job at
        // once, and a provider's 429 pauses it for every worker.
        builder.UseCancelSignal(ProviderName, sp => new PostgresJobCancelSignal(sp.GetRequiredService<PostgresDatabase>()));
        builder.UseProviderPauseStore(ProviderName, sp => new PostgresProviderPauseStore(sp.GetRequiredService<PostgresDatabase>()));

        // The dashboard lists every worker heartbeating on this database, not only this process's.
        builder.UseWorkerRegistry(ProviderName, sp => new PostgresWorkerRegistry(sp.GetRequiredService<PostgresDatabase>()));

        // The result cache serves, in every API process, what any worker generated.
        builder.UseResultCacheIndex(ProviderName, sp => new PostgresResultCacheIndex(sp.GetRequiredService<PostgresDatabase>()));

        // Each lifecycle step is one transaction when all four seams are this package's and still the ones in use; else
        // Core composes them.
        builder.AddLifecycleStore(LifecycleStore);

        var services = builder.Services;
        services.AddSingleton(database);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PostgresStartup>());
        services.AddOptions<PostgreSqlOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgreSqlOptions>, PostgreSqlOptionsValidator>());
        return builder;
    }

    private static readonly Func<IServiceProvider, IJobLifecycleStore?> LifecycleStore = PostgresJobLifecycleStore.TryCreate;
}
