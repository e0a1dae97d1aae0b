using MediaGen;
using MediaGen.Internal;
using MediaGen.Shared;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers MediaGen's producer side: submission, status and the in-memory defaults for every seam.</summary>
public static class MediaGenerationServiceCollectionExtensions
{
    /// <summary>
    /// Adds the submission client (<see cref="IMediaGenerationClient"/>) and in-memory defaults for the queue, job
    /// store, credit ledger, event stream, cancel signal, provider pause store, result cache index and webhook outbox, and file-system storage. Add a worker with
    /// <see cref="MediaGenerationBuilderExtensions.AddWorker(IMediaGenerationBuilder, Action{MediaGenerationWorkerOptions}?)"/>
    /// and replace seams with the adapters' <c>Use*</c> methods. Calling it again returns a builder over the same registrations.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures <see cref="MediaGenerationOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddMediaGeneration(this IServiceCollection services, Action<MediaGenerationOptions>? configure = null) =>
        AddMediaGeneration(services, configure, section: null);

    /// <summary>
    /// Adds MediaGen with <see cref="MediaGenerationOptions"/> bound from the values directly under
    /// <paramref name="section"/>. An unknown value there is a start-up error that names its key; sub-sections (such as
    /// <c>MediaGen:Worker</c> or <c>MediaGen:Redis</c>) are left to the components that own them.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="section">The configuration section, for example <c>MediaGen</c>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddMediaGeneration(this IServiceCollection services, IConfigurationSection section) =>
        AddMediaGeneration(services, configure: null, section ?? throw new ArgumentNullException(nameof(section)));

    private static IMediaGenerationBuilder AddMediaGeneration(IServiceCollection services, Action<MediaGenerationOptions>? configure, IConfigurationSection? section)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = AddCore(services);
        builder.AddValidatedOptions<MediaGenerationOptions, MediaGenerationOptionsValidator>(
            configure,
            section is null ? null : new OwnValuesConfigurationSection(section),
            static (o, s) => o.Bind(s, MediaGenerationAdapterBuilderExtensions.RejectUnknownKeys));
        return builder;
    }

    private static MediaGenerationBuilder AddCore(IServiceCollection services)
    {
        var existing = services.FirstOrDefault(d => d.ServiceType == typeof(SeamSelections))?.ImplementationInstance as SeamSelections;
        if (existing is not null)
        {
            return new MediaGenerationBuilder(services, existing);
        }

        var selections = new SeamSelections();
        services.AddSingleton(selections);

        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddLogging();

        services.AddOptionsWithValidateOnStart<MediaGenerationOptions, MediaGenerationOptionsValidator>();
        services.AddOptionsWithValidateOnStart<CreditLedgerOptions, CreditLedgerOptionsValidator>();
        services.AddOptionsWithValidateOnStart<InMemoryBackendOptions, InMemoryBackendOptionsValidator>();
        services.AddOptionsWithValidateOnStart<InMemoryJobQueueOptions, InMemoryJobQueueOptionsValidator>();
        services.AddOptionsWithValidateOnStart<WebhookOptions, WebhookOptionsValidator>();
        services.AddOptionsWithValidateOnStart<ResultCacheOptions, ResultCacheOptionsValidator>();
        services.AddOptionsWithValidateOnStart<FileSystemStorageOptions, FileSystemStorageOptionsValidator>();

        services.TryAddSingleton<IJobQueue, InMemoryJobQueue>();
        services.TryAddSingleton<IJobStore, InMemoryJobStore>();
        services.TryAddSingleton<ICreditLedger, InMemoryCreditLedger>();
        services.TryAddSingleton<IJobEventStream>(static sp =>
        {
            var options = sp.GetRequiredService<IOptions<MediaGenerationOptions>>().Value;
            return new InMemoryJobEventStream(sp.GetService<TimeProvider>(), options.EventHistoryLength, options.EventHistoryRetention);
        });
        services.TryAddSingleton<IMediaStorage, FileSystemMediaStorage>();
        services.TryAddSingleton<IJobCancelSignal, InMemoryJobCancelSignal>();
        services.TryAddSingleton<IProviderPauseStore, InMemoryProviderPauseStore>();
        services.TryAddSingleton<IWorkerRegistry, InMemoryWorkerRegistry>();
        services.TryAddSingleton<IResultCacheIndex, InMemoryResultCacheIndex>();
        services.TryAddSingleton<IWebhookOutbox, InMemoryWebhookOutbox>();
        services.TryAddSingleton(sp => new ProviderRateGate(
            sp.GetRequiredService<IProviderPauseStore>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ProviderRateGate>>()));

        services.TryAddSingleton<MediaGenMetrics>();
        services.TryAddSingleton<GeneratorCatalog>();
        services.TryAddSingleton<JobCancellationRegistry>();
        services.TryAddSingleton<IJobLifecycleStore>(sp => LifecycleStoreSelection.Create(sp, selections));
        services.TryAddSingleton<ResultCache>();
        services.TryAddSingleton<JobLifecycle>();
        services.TryAddSingleton<WorkerIdentity>();
        services.TryAddSingleton<IMediaGenerationClient, MediaGenerationClient>();
        services.TryAddSingleton(sp => new SubmissionRateLimiter(() =>
        {
            var options = sp.GetRequiredService<IOptions<MediaGenerationOptions>>().Value;
            return new FixedWindowOwnerRateLimiter(options.SubmissionsPerOwner ?? int.MaxValue, options.SubmissionWindow, sp.GetRequiredService<TimeProvider>());
        }));

        services.TryAddSingleton<IOutboundHostResolver>(DnsOutboundHostResolver.Instance);
        // No client timeout of its own (100 s by default): each try is bounded by WebhookOptions.AttemptTimeout, which
        // may be longer.
        services.AddHttpClient(WebhookDispatcher.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp =>
            {
                var options = sp.GetRequiredService<IOptions<WebhookOptions>>();
                return new OutboundConnectGuard(sp.GetRequiredService<IOutboundHostResolver>(), () => options.Value.AllowedNonPublicHosts, "webhook").CreateHandler();
            });
        services.TryAddSingleton<WebhookDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());

        services.AddHealthChecks()
            .AddCheck<QueueHealthCheck>("mediagen-queue", tags: ["mediagen", "ready"])
            .AddCheck<StorageHealthCheck>("mediagen-storage", tags: ["mediagen", "ready"]);

        return new MediaGenerationBuilder(services, selections);
    }
}
