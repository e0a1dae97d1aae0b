using System.Diagnostics.CodeAnalysis;
using MediaGen;
using MediaGen.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using static Microsoft.Extensions.DependencyInjection.MediaGenerationAdapterBuilderExtensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Chooses MediaGen's implementations. <c>Use*</c> picks the one implementation of a seam (a second choice for the
/// same seam throws, naming both); <c>Add*</c> adds to a set and is idempotent.
/// </summary>
public static class MediaGenerationBuilderExtensions
{
    /// <summary>Uses <paramref name="factory"/> for the <see cref="IJobQueue"/>.</summary>
    /// <typeparam name="TQueue">The implementation, named in the error a second choice raises.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the queue; what it returns is disposed with the container if disposable.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue was already chosen.</exception>
    public static IMediaGenerationBuilder UseQueue<TQueue>(this IMediaGenerationBuilder builder, Func<IServiceProvider, TQueue> factory)
        where TQueue : class, IJobQueue =>
        Use<IJobQueue, TQueue>(builder, MediaGenerationSeam.Queue, factory);

    /// <summary>Uses <paramref name="factory"/> for the <see cref="IJobStore"/>.</summary>
    /// <typeparam name="TStore">The implementation, named in the error a second choice raises.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the store.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another job store was already chosen.</exception>
    public static IMediaGenerationBuilder UseJobStore<TStore>(this IMediaGenerationBuilder builder, Func<IServiceProvider, TStore> factory)
        where TStore : class, IJobStore =>
        Use<IJobStore, TStore>(builder, MediaGenerationSeam.JobStore, factory);

    /// <summary>Uses <paramref name="factory"/> for the <see cref="ICreditLedger"/>.</summary>
    /// <typeparam name="TLedger">The implementation, named in the error a second choice raises.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the ledger.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another credit ledger was already chosen.</exception>
    public static IMediaGenerationBuilder UseCreditLedger<TLedger>(this IMediaGenerationBuilder builder, Func<IServiceProvider, TLedger> factory)
        where TLedger : class, ICreditLedger =>
        Use<ICreditLedger, TLedger>(builder, MediaGenerationSeam.CreditLedger, factory);

    /// <summary>Uses <paramref name="factory"/> for the <see cref="IJobEventStream"/>.</summary>
    /// <typeparam name="TEventStream">The implementation, named in the error a second choice raises.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the event stream.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another event stream was already chosen.</exception>
    public static IMediaGenerationBuilder UseEventStream<TEventStream>(this IMediaGenerationBuilder builder, Func<IServiceProvider, TEventStream> factory)
        where TEventStream : class, IJobEventStream =>
        Use<IJobEventStream, TEventStream>(builder, MediaGenerationSeam.EventStream, factory);

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
    /// <typeparam name="TStorage">The implementation, named in the error a second choice raises.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the storage.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another storage was already chosen.</exception>
    public static IMediaGenerationBuilder UseStorage<TStorage>(this IMediaGenerationBuilder builder, Func<IServiceProvider, TStorage> factory)
        where TStorage : class, IMediaStorage =>
        Use<IMediaStorage, TStorage>(builder, MediaGenerationSeam.Storage, factory);

    /// <summary>
    /// Uses <paramref name="factory"/> for the <see cref="IJobCancelSignal"/>, which carries an owner's cancel to the
    /// process running the job. Backends that share state between processes choose theirs in their <c>Use*</c> method; the
    /// default reaches this process only.
    /// </summary>
    /// <typeparam name="TSignal">The implementation, named in the error a second choice raises.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the signal.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another cancel signal was already chosen.</exception>
    public static IMediaGenerationBuilder UseCancelSignal<TSignal>(this IMediaGenerationBuilder builder, Func<IServiceProvider, TSignal> factory)
        where TSignal : class, IJobCancelSignal =>
        Use<IJobCancelSignal, TSignal>(builder, MediaGenerationSeam.CancelSignal, factory);

    /// <summary>
    /// Uses <paramref name="factory"/> for the <see cref="IProviderPauseStore"/>, which keeps the deadlines of providers'
    /// 429 pauses. Backends that share state between processes choose theirs in their <c>Use*</c> method, so a pause holds
    /// for every worker; the default holds for this process only.
    /// </summary>
    /// <typeparam name="TStore">The implementation, named in the error a second choice raises.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the store.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another provider pause store was already chosen.</exception>
    public static IMediaGenerationBuilder UseProviderPauseStore<TStore>(this IMediaGenerationBuilder builder, Func<IServiceProvider, TStore> factory)
        where TStore : class, IProviderPauseStore =>
        Use<IProviderPauseStore, TStore>(builder, MediaGenerationSeam.ProviderPauseStore, factory);

    /// <summary>
    /// Uses <paramref name="factory"/> for the <see cref="IWorkerRegistry"/>, where workers heartbeat for the dashboard.
    /// Backends that share state between processes choose theirs in their <c>Use*</c> method; the default sees this
    /// process's workers only.
    /// </summary>
    /// <typeparam name="TRegistry">The implementation, named in the error a second choice raises.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the registry.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another worker registry was already chosen.</exception>
    public static IMediaGenerationBuilder UseWorkerRegistry<TRegistry>(this IMediaGenerationBuilder builder, Func<IServiceProvider, TRegistry> factory)
        where TRegistry : class, IWorkerRegistry =>
        Use<IWorkerRegistry, TRegistry>(builder, MediaGenerationSeam.WorkerRegistry, factory);

    /// <summary>
    /// Uses <paramref name="factory"/> for the <see cref="IResultCacheIndex"/>, the result cache's map from a request's
    /// cache key to a succeeded job. Backends that share state between processes choose theirs in their <c>Use*</c>
    /// method, so every process serves what any worker generated; the default holds for this process only.
    /// </summary>
    /// <typeparam name="TIndex">The implementation, named in the error a second choice raises.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Creates the index.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another result cache index was already chosen.</exception>
    public static IMediaGenerationBuilder UseResultCacheIndex<TIndex>(this IMediaGenerationBuilder builder, Func<IServiceProvider, TIndex> factory)
        where TIndex : class, IResultCacheIndex =>
        Use<IResultCacheIndex, TIndex>(builder, MediaGenerationSeam.ResultCacheIndex, factory);

    /// <summary>
    /// Configures the result cache (<see cref="ResultCacheOptions"/>): which models are cached, whether requests may opt
    /// in, what a hit costs and how long results serve.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder ConfigureResultCache(this IMediaGenerationBuilder builder, Action<ResultCacheOptions> configure) =>
        ConfigureResultCache(builder, configure ?? throw new ArgumentNullException(nameof(configure)), section: null);

    /// <summary>
    /// Configures the result cache from <paramref name="section"/> (for example <c>MediaGen:ResultCache</c>); an unknown
    /// key there is a start-up error.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder ConfigureResultCache(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        ConfigureResultCache(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)));

    /// <summary>Uses the in-memory queue (the default), with options.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="InMemoryJobQueueOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder UseInMemoryQueue(this IMediaGenerationBuilder builder, Action<InMemoryJobQueueOptions>? configure = null) =>
        UseInMemoryQueue(builder, configure, section: null);

    /// <summary>Uses the in-memory queue (the default), with options bound from <paramref name="section"/>; an unknown key is a start-up error.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder UseInMemoryQueue(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        UseInMemoryQueue(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)));

    /// <summary>Uses file-system storage (the default), with options.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="FileSystemStorageOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder UseFileSystemStorage(this IMediaGenerationBuilder builder, Action<FileSystemStorageOptions>? configure = null) =>
        UseFileSystemStorage(builder, configure, section: null);

    /// <summary>Uses file-system storage with options bound from <paramref name="section"/>; an unknown key is a start-up error.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder UseFileSystemStorage(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        UseFileSystemStorage(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)));

    /// <summary>Configures every credit ledger's <see cref="CreditLedgerOptions"/> (for example the initial balance).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder ConfigureCredits(this IMediaGenerationBuilder builder, Action<CreditLedgerOptions> configure) =>
        ConfigureCredits(builder, configure ?? throw new ArgumentNullException(nameof(configure)), section: null);

    /// <summary>
    /// Configures every credit ledger's <see cref="CreditLedgerOptions"/> from <paramref name="section"/> (for example
    /// <c>MediaGen:Credits</c>); an unknown key is a start-up error.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder ConfigureCredits(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        ConfigureCredits(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)));

    /// <summary>Configures the webhooks sent when a job that names a <see cref="GenerationRequest.WebhookUrl"/> finishes.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="WebhookOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder ConfigureWebhooks(this IMediaGenerationBuilder builder, Action<WebhookOptions> configure) =>
        ConfigureWebhooks(builder, configure ?? throw new ArgumentNullException(nameof(configure)), section: null);

    /// <summary>
    /// Configures the webhooks from <paramref name="section"/> (for example <c>MediaGen:Webhooks</c>); an unknown key is a
    /// start-up error.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder ConfigureWebhooks(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        ConfigureWebhooks(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)));

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
        ArgumentNullException.ThrowIfNull(factory);
        var selections = Selections(builder);
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
    public static IMediaGenerationBuilder AddWorker(this IMediaGenerationBuilder builder, Action<MediaGenerationWorkerOptions>? configure = null) =>
        AddWorker(builder, configure, section: null);

    /// <summary>Adds the worker with <see cref="MediaGenerationWorkerOptions"/> bound from <paramref name="section"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddWorker(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        AddWorker(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)));

    // Each family below funnels its overloads into one method: options registered and validated at start-up, the section
    // bound on the concrete options type (so the binding source generator handles it), then the services.
    private static IMediaGenerationBuilder AddWorker(IMediaGenerationBuilder builder, Action<MediaGenerationWorkerOptions>? configure, IConfigurationSection? section)
    {
        builder.AddValidatedOptions<MediaGenerationWorkerOptions, MediaGenerationWorkerOptionsValidator>(configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys));

        var services = builder.Services;
        services.TryAddSingleton<JobProcessor>();

        // The listener first: it hears cancels before the worker receives its first job, and until the worker has drained.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, JobCancelListener>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, MediaGenerationWorker>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PendingJobSweeper>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, WorkerHeartbeatService>());
        return builder;
    }

    private static IMediaGenerationBuilder UseInMemoryQueue(IMediaGenerationBuilder builder, Action<InMemoryJobQueueOptions>? configure, IConfigurationSection? section)
    {
        builder.UseQueue(sp => ActivatorUtilities.CreateInstance<InMemoryJobQueue>(sp));
        builder.AddValidatedOptions<InMemoryJobQueueOptions, InMemoryJobQueueOptionsValidator>(configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys));
        return builder;
    }

    private static IMediaGenerationBuilder UseFileSystemStorage(IMediaGenerationBuilder builder, Action<FileSystemStorageOptions>? configure, IConfigurationSection? section)
    {
        builder.UseStorage(sp => ActivatorUtilities.CreateInstance<FileSystemMediaStorage>(sp));
        builder.AddValidatedOptions<FileSystemStorageOptions, FileSystemStorageOptionsValidator>(configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys));
        return builder;
    }

    // The options-only families: their options are registered, with their validators, by AddMediaGeneration.
    private static IMediaGenerationBuilder ConfigureResultCache(IMediaGenerationBuilder builder, Action<ResultCacheOptions>? configure, IConfigurationSection? section)
    {
        builder.AddValidatedOptions<ResultCacheOptions, ResultCacheOptionsValidator>(configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys));
        return builder;
    }

    private static IMediaGenerationBuilder ConfigureCredits(IMediaGenerationBuilder builder, Action<CreditLedgerOptions>? configure, IConfigurationSection? section)
    {
        builder.AddValidatedOptions<CreditLedgerOptions, CreditLedgerOptionsValidator>(configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys));
        return builder;
    }

    private static IMediaGenerationBuilder ConfigureWebhooks(IMediaGenerationBuilder builder, Action<WebhookOptions>? configure, IConfigurationSection? section)
    {
        builder.AddValidatedOptions<WebhookOptions, WebhookOptionsValidator>(configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys));
        return builder;
    }

    private static IMediaGenerationBuilder Use<TService, TImplementation>(IMediaGenerationBuilder builder, MediaGenerationSeam seam, Func<IServiceProvider, TImplementation> factory)
        where TService : class
        where TImplementation : class, TService
    {
        ArgumentNullException.ThrowIfNull(factory);
        Selections(builder).Select(seam, typeof(TImplementation));
        builder.Services.Replace(ServiceDescriptor.Singleton<TService>(factory));
        return builder;
    }

    private static SeamSelections Selections(IMediaGenerationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Services.FirstOrDefault(d => d.ServiceType == typeof(SeamSelections))?.ImplementationInstance as SeamSelections
            ?? throw new InvalidOperationException("Call services.AddMediaGeneration() before choosing its implementations.");
    }
}
