using System.Diagnostics.CodeAnalysis;
using MediaGen;
using MediaGen.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Chooses MediaGen's implementations. <c>Use*</c> picks the one implementation of a seam (a second choice for the
/// same seam throws, naming both); <c>Add*</c> adds to a set and is idempotent.
/// </summary>
public static class MediaGenerationBuilderExtensions
{
    /// <summary>Uses <paramref name="factory"/> for the <see cref="IJobQueue"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="providerName">A name for the implementation, used in errors (for example <c>Redis</c>).</param>
    /// <param name="factory">Creates the queue; what it returns is disposed with the container if disposable.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue was already chosen.</exception>
    public static IMediaGenerationBuilder UseQueue(this IMediaGenerationBuilder builder, string providerName, Func<IServiceProvider, IJobQueue> factory) =>
        Use(builder, MediaGenerationSeam.Queue, providerName, factory);

    /// <summary>Uses <paramref name="factory"/> for the <see cref="IJobStore"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="providerName">A name for the implementation, used in errors.</param>
    /// <param name="factory">Creates the store.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another job store was already chosen.</exception>
    public static IMediaGenerationBuilder UseJobStore(this IMediaGenerationBuilder builder, string providerName, Func<IServiceProvider, IJobStore> factory) =>
        Use(builder, MediaGenerationSeam.JobStore, providerName, factory);

    /// <summary>Uses <paramref name="factory"/> for the <see cref="ICreditLedger"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="providerName">A name for the implementation, used in errors.</param>
    /// <param name="factory">Creates the ledger.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another credit ledger was already chosen.</exception>
    public static IMediaGenerationBuilder UseCreditLedger(this IMediaGenerationBuilder builder, string providerName, Func<IServiceProvider, ICreditLedger> factory) =>
        Use(builder, MediaGenerationSeam.CreditLedger, providerName, factory);

    /// <summary>Uses <paramref name="factory"/> for the <see cref="IJobEventStream"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="providerName">A name for the implementation, used in errors.</param>
    /// <param name="factory">Creates the event stream.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another event stream was already chosen.</exception>
    public static IMediaGenerationBuilder UseEventStream(this IMediaGenerationBuilder builder, string providerName, Func<IServiceProvider, IJobEventStream> factory) =>
        Use(builder, MediaGenerationSeam.EventStream, providerName, factory);

    /// <summary>
    /// Uses <paramref name="factory"/> for the limiter behind <see cref="MediaGenerationOptions.SubmissionsPerOwner"/>,
    /// partitioned by owner id (a backend shares the limit across processes this way; the default counts per process).
    /// Its leases are <see cref="SubmissionRateLeases"/>: a refused one carries the retry-after.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the limiter; called once, on the first limited submission.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder UseSubmissionRateLimiter(this IMediaGenerationBuilder builder, Func<IServiceProvider, System.Threading.RateLimiting.PartitionedRateLimiter<string>> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.Replace(ServiceDescriptor.Singleton(sp => new SubmissionRateLimiter(() => factory(sp))));
        return builder;
    }

    /// <summary>Uses <paramref name="factory"/> for the <see cref="IMediaStorage"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="providerName">A name for the implementation, used in errors.</param>
    /// <param name="factory">Creates the storage.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another storage was already chosen.</exception>
    public static IMediaGenerationBuilder UseStorage(this IMediaGenerationBuilder builder, string providerName, Func<IServiceProvider, IMediaStorage> factory) =>
        Use(builder, MediaGenerationSeam.Storage, providerName, factory);

    /// <summary>
    /// Uses <paramref name="factory"/> for the <see cref="IJobCancelSignal"/>, which carries an owner's cancel to the
    /// process running the job. Backends that share state between processes choose theirs in their <c>Use*</c> method; the
    /// default reaches this process only.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="providerName">A name for the implementation, used in errors.</param>
    /// <param name="factory">Creates the signal.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another cancel signal was already chosen.</exception>
    public static IMediaGenerationBuilder UseCancelSignal(this IMediaGenerationBuilder builder, string providerName, Func<IServiceProvider, IJobCancelSignal> factory) =>
        Use(builder, MediaGenerationSeam.CancelSignal, providerName, factory);

    /// <summary>
    /// Uses <paramref name="factory"/> for the <see cref="IProviderPauseStore"/>, which keeps the deadlines of providers'
    /// 429 pauses. Backends that share state between processes choose theirs in their <c>Use*</c> method, so a pause holds
    /// for every worker; the default holds for this process only.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="providerName">A name for the implementation, used in errors.</param>
    /// <param name="factory">Creates the store.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UseProviderPauseStore(this IMediaGenerationBuilder builder, string providerName, Func<IServiceProvider, IProviderPauseStore> factory) =>
        Use(builder, MediaGenerationSeam.ProviderPauseStore, providerName, factory);

    /// <summary>
    /// Uses <paramref name="factory"/> for the <see cref="IWorkerRegistry"/>, where workers heartbeat for the dashboard.
    /// Backends that share state between processes choose theirs in their <c>Use*</c> method; the default sees this
    /// process's workers only.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="providerName">A name for the implementation, used in errors.</param>
    /// <param name="factory">Creates the registry.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another worker registry was already chosen.</exception>
    public static IMediaGenerationBuilder UseWorkerRegistry(this IMediaGenerationBuilder builder, string providerName, Func<IServiceProvider, IWorkerRegistry> factory) =>
        Use(builder, MediaGenerationSeam.WorkerRegistry, providerName, factory);

    /// <summary>
    /// Uses <paramref name="factory"/> for the <see cref="IResultCacheIndex"/>, the result cache's map from a request's
    /// cache key to a succeeded job. Backends that share state between processes choose theirs in their <c>Use*</c>
    /// method, so every process serves what any worker generated; the default holds for this process only.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="providerName">A name for the implementation, used in errors.</param>
    /// <param name="factory">Creates the index.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another result cache index was already chosen.</exception>
    public static IMediaGenerationBuilder UseResultCacheIndex(this IMediaGenerationBuilder builder, string providerName, Func<IServiceProvider, IResultCacheIndex> factory) =>
        Use(builder, MediaGenerationSeam.ResultCacheIndex, providerName, factory);

    /// <summary>
    /// Configures the result cache (<see cref="ResultCacheOptions"/>): which models are cached, whether requests may opt
    /// in, what a hit costs and how long results serve.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder ConfigureResultCache(this IMediaGenerationBuilder builder, Action<ResultCacheOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>
    /// Configures the result cache from <paramref name="section"/> (for example <c>MediaGen:ResultCache</c>); an unknown
    /// key there is a start-up error.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder ConfigureResultCache(this IMediaGenerationBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        builder.Services.AddOptions<ResultCacheOptions>().Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        return builder;
    }

    /// <summary>Uses the in-memory queue (the default), with options.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="InMemoryJobQueueOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder UseInMemoryQueue(this IMediaGenerationBuilder builder, Action<InMemoryJobQueueOptions>? configure = null)
    {
        Use<IJobQueue>(builder, MediaGenerationSeam.Queue, "InMemory", sp => ActivatorUtilities.CreateInstance<InMemoryJobQueue>(sp));
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        return builder;
    }

    /// <summary>Uses file-system storage (the default), with options.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="FileSystemStorageOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder UseFileSystemStorage(this IMediaGenerationBuilder builder, Action<FileSystemStorageOptions>? configure = null)
    {
        Use<IMediaStorage>(builder, MediaGenerationSeam.Storage, "FileSystem", sp => ActivatorUtilities.CreateInstance<FileSystemMediaStorage>(sp));
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        return builder;
    }

    /// <summary>Uses file-system storage with options bound from <paramref name="section"/>; an unknown key is a start-up error.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder UseFileSystemStorage(this IMediaGenerationBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        UseFileSystemStorage(builder);
        builder.Services.AddOptions<FileSystemStorageOptions>().Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        return builder;
    }

    /// <summary>Configures every credit ledger's <see cref="CreditLedgerOptions"/> (for example the initial balance).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder ConfigureCredits(this IMediaGenerationBuilder builder, Action<CreditLedgerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>Configures the webhooks sent when a job that names a <see cref="GenerationRequest.WebhookUrl"/> finishes.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="WebhookOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder ConfigureWebhooks(this IMediaGenerationBuilder builder, Action<WebhookOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>Adds a generator type. Adding the same type twice has no effect.</summary>
    /// <typeparam name="TGenerator">The generator.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddGenerator<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TGenerator>(this IMediaGenerationBuilder builder)
        where TGenerator : class, IMediaGenerator
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IMediaGenerator, TGenerator>());
        return builder;
    }

    /// <summary>Adds a generator instance. The caller owns it; MediaGen never disposes it.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="generator">The generator.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddGenerator(this IMediaGenerationBuilder builder, IMediaGenerator generator)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(generator);
        builder.Services.AddSingleton(generator);
        return builder;
    }

    /// <summary>
    /// Offers a backend's <see cref="IJobLifecycleStore"/>, which applies each lifecycle step as one atomic operation.
    /// Backends that own the queue, job store and ledger call this from their <c>Use*</c> method.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">
    /// Returns the backend's lifecycle store when the queue, job store, credit ledger and event stream resolved from the
    /// provider are all the backend's own, and null otherwise (a user replaced one of them), in which case MediaGen composes
    /// the four seams, keeping the job store the source of truth.
    /// </param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddLifecycleStore(this IMediaGenerationBuilder builder, Func<IServiceProvider, IJobLifecycleStore?> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        var selections = builder.Services.FirstOrDefault(d => d.ServiceType == typeof(SeamSelections))?.ImplementationInstance as SeamSelections
            ?? throw new InvalidOperationException("Call services.AddMediaGeneration() before choosing its implementations.");
        if (!selections.LifecycleStores.Contains(factory))
        {
            selections.LifecycleStores.Add(factory);
        }

        return builder;
    }

    /// <summary>Adds the worker: a hosted service that receives jobs and runs them.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="MediaGenerationWorkerOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddWorker(this IMediaGenerationBuilder builder, Action<MediaGenerationWorkerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddWorkerCore(builder.Services);
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        return builder;
    }

    /// <summary>Adds the worker with <see cref="MediaGenerationWorkerOptions"/> bound from <paramref name="section"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddWorker(this IMediaGenerationBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        AddWorkerCore(builder.Services);
        builder.Services.AddOptions<MediaGenerationWorkerOptions>().Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        return builder;
    }

    private static void AddWorkerCore(IServiceCollection services)
    {
        services.AddOptions<MediaGenerationWorkerOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MediaGenerationWorkerOptions>, MediaGenerationWorkerOptionsValidator>());
        services.TryAddSingleton<JobProcessor>();

        // The listener first: it hears cancels before the worker receives its first job, and until the worker has drained.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, JobCancelListener>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, MediaGenerationWorker>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PendingJobSweeper>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, WorkerHeartbeatService>());
    }

    private static IMediaGenerationBuilder Use<TService>(IMediaGenerationBuilder builder, MediaGenerationSeam seam, string providerName, Func<IServiceProvider, TService> factory)
        where TService : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(providerName);
        ArgumentNullException.ThrowIfNull(factory);
        var selections = builder.Services.FirstOrDefault(d => d.ServiceType == typeof(SeamSelections))?.ImplementationInstance as SeamSelections
            ?? throw new InvalidOperationException("Call services.AddMediaGeneration() before choosing its implementations.");
        selections.Select(seam, providerName);
        builder.Services.Replace(ServiceDescriptor.Singleton(factory));
        return builder;
    }
}
