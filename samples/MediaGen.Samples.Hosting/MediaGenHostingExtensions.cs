using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace MediaGen.Samples.Hosting;

/// <summary>
/// Configures MediaGen for the sample hosts from configuration: <c>MediaGen:Queue:Provider</c>,
/// <c>MediaGen:Store:Provider</c> (the job store, credit ledger and events; Redis by default with a Redis queue, PostgreSQL
/// with a PostgreSQL queue, else in memory) and <c>MediaGen:Storage:Provider</c> pick the adapters (case-insensitive), the other <c>MediaGen:*</c> sections
/// set their options. Everything is checked before the host starts; an unknown provider, an unknown key or an invalid value
/// stops it with a message that names the key.
/// </summary>
public static class MediaGenHostingExtensions
{
    /// <summary>The configuration section MediaGen reads.</summary>
    public const string SectionName = "MediaGen";

    /// <summary>The in-process queue provider, the default.</summary>
    public const string InMemoryProvider = "InMemory";

    /// <summary>The file-system storage provider, the default.</summary>
    public const string FileSystemProvider = "FileSystem";

    /// <summary>The PostgreSQL provider: the queue and store providers' name for MediaGen on PostgreSQL (<c>MediaGen:PostgreSql</c>).</summary>
    public const string PostgreSqlProvider = "PostgreSql";

    /// <summary>The balance every new owner starts with in the samples, unless <c>MediaGen:Credits:InitialBalance</c> says otherwise.</summary>
    public const long SampleInitialBalance = 1000;

    /// <summary>Every queue provider name, whether or not this build includes it.</summary>
    public static IReadOnlyList<string> QueueProviders { get; } = [InMemoryProvider, "Redis", "ServiceBus", PostgreSqlProvider];

    /// <summary>Every provider of the job store, credit ledger and events, whether or not this build includes it.</summary>
    public static IReadOnlyList<string> StoreProviders { get; } = [InMemoryProvider, "Redis", PostgreSqlProvider];

    /// <summary>Every storage provider name, whether or not this build includes it.</summary>
    public static IReadOnlyList<string> StorageProviders { get; } = [FileSystemProvider, "S3", "Blob"];

    /// <summary>Every generator section name under <c>MediaGen:Generators</c>, whether or not this build includes it.</summary>
    public static IReadOnlyList<string> Generators { get; } = ["Procedural", "Replicate", "HuggingFace", OpenAIImageModels.SectionName];

    // The providers this build includes; the others in QueueProviders/StorageProviders are refused as "not available".
    private static readonly string[] AvailableQueueProviders = [InMemoryProvider, "Redis", "ServiceBus", PostgreSqlProvider];
    private static readonly string[] AvailableStorageProviders = [FileSystemProvider, "S3", "Blob"];

    // Sections under MediaGen that belong to adapters this build does not include.
    private static readonly string[] UnavailableSections = [];

    // Sections under MediaGen this helper reads, besides MediaGenerationOptions' own keys.
    private static readonly string[] KnownSections = ["Queue", "Store", "Storage", "Worker", "Credits", "Webhooks", "FileSystem", "InMemoryQueue", "Generators", "Samples", "S3", "Blob", "Redis", "ServiceBus", PostgreSqlProvider, "Moderation", "Thumbnails", "ResultCache", "Telemetry"];

    /// <summary>
    /// Adds MediaGen (<see cref="MediaGenerationServiceCollectionExtensions.AddMediaGeneration(IServiceCollection, Action{MediaGenerationOptions}?)"/>)
    /// with the adapters and options <paramref name="configuration"/> names, and the procedural generator. Does not add
    /// the worker: call <see cref="MediaGenHostSetup.AddWorker"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The host's configuration (the <c>MediaGen</c> section is read).</param>
    /// <returns>What was chosen, and the builder.</returns>
    /// <exception cref="MediaGenConfigurationException">The configuration names an unknown provider or key, or holds an invalid value.</exception>
    public static MediaGenHostSetup AddMediaGenerationFromConfiguration(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var root = configuration.GetSection(SectionName);
        var checker = new ConfigurationChecker();

        checker.Check<MediaGenerationOptions>(root, [.. KnownSections, .. UnavailableSections]);
        foreach (var name in UnavailableSections)
        {
            if (root.GetSection(name).Exists())
            {
                checker.Add(root.GetSection(name).Path, $"configures the {name} adapter, which is not available in this build of the samples.");
            }
        }

        var queueSection = root.GetSection("Queue");
        checker.CheckOnly(queueSection, "Provider");
        var queueProvider = ResolveProvider(checker, queueSection, QueueProviders, AvailableQueueProviders, InMemoryProvider);
        var storeSection = root.GetSection("Store");
        checker.CheckOnly(storeSection, "Provider");
        var storeProvider = ResolveProvider(checker, storeSection, StoreProviders, StoreProviders, queueProvider is "Redis" or PostgreSqlProvider ? queueProvider : InMemoryProvider);
        if (queueProvider is "Redis" or PostgreSqlProvider && storeProvider != queueProvider)
        {
            checker.Add(storeSection.GetSection("Provider").Path, $"must be {queueProvider} (or unset) with the {queueProvider} queue, which keeps the job store, ledger and events on {queueProvider} too.");
        }

        var storageSection = root.GetSection("Storage");
        checker.CheckOnly(storageSection, "Provider");
        var storageProvider = ResolveProvider(checker, storageSection, StorageProviders, AvailableStorageProviders, FileSystemProvider);

        var workerSection = root.GetSection("Worker");
        checker.Check<MediaGenerationWorkerOptions>(workerSection, "Enabled");
        bool? workerEnabled = null;
        if (workerSection["Enabled"] is { } enabledText)
        {
            if (bool.TryParse(enabledText, out var enabled))
            {
                workerEnabled = enabled;
            }
            else
            {
                checker.Add(workerSection.GetSection("Enabled").Path, $"has the value '{enabledText}'; use true or false.");
            }
        }

        checker.Check<CreditLedgerOptions>(root.GetSection("Credits"));
        checker.Check<WebhookOptions>(root.GetSection("Webhooks"));
        checker.Check<FileSystemStorageOptions>(root.GetSection("FileSystem"));
        if (storageProvider == "S3" || root.GetSection("S3").Exists())
        {
            checker.Check<S3StorageOptions>(root.GetSection("S3"));
        }

        if (storageProvider == "Blob" || root.GetSection("Blob").Exists())
        {
            checker.Check<BlobStorageOptions>(root.GetSection("Blob"));
        }

        checker.Check<InMemoryJobQueueOptions>(root.GetSection("InMemoryQueue"));
        var thumbnails = root.GetSection("Thumbnails");
        checker.Check<SkiaThumbnailOptions>(thumbnails, "Enabled");
        var thumbnailsEnabled = true;
        if (thumbnails["Enabled"] is { } thumbnailsText && !bool.TryParse(thumbnailsText, out thumbnailsEnabled))
        {
            checker.Add(thumbnails.GetSection("Enabled").Path, $"has the value '{thumbnailsText}'; use true or false.");
        }

        var moderation = root.GetSection("Moderation");
        checker.Check<BlockedTermsModeratorOptions>(moderation);
        var resultCache = root.GetSection("ResultCache");
        checker.Check<ResultCacheOptions>(resultCache);
        if (queueProvider == "ServiceBus" || root.GetSection("ServiceBus").Exists())
        {
            checker.Check<ServiceBusQueueOptions>(root.GetSection("ServiceBus"));
        }

        if (queueProvider == PostgreSqlProvider || storeProvider == PostgreSqlProvider || root.GetSection(PostgreSqlProvider).Exists())
        {
            var postgreSql = root.GetSection(PostgreSqlProvider);
            checker.Check<PostgreSqlOptions>(postgreSql);
            if (string.IsNullOrWhiteSpace(postgreSql["ConnectionString"]) && (queueProvider == PostgreSqlProvider || storeProvider == PostgreSqlProvider))
            {
                checker.Add(postgreSql.GetSection("ConnectionString").Path, "is required with the PostgreSql provider: an Npgsql connection string such as 'Host=db;Database=app;Username=mediagen;Password=...'.");
            }
        }

        var generatorsSection = root.GetSection("Generators");
        checker.CheckOnly(generatorsSection, [.. Generators]);
        checker.Check<ProceduralGeneratorOptions>(generatorsSection.GetSection("Procedural"));
        var replicate = generatorsSection.GetSection("Replicate");
        var huggingFace = generatorsSection.GetSection("HuggingFace");
        foreach (var provider in (IConfigurationSection[])[replicate, huggingFace])
        {
            // A provider is used when its token is set; a section with other keys but no token is a mistake worth naming.
            if (provider.GetChildren().Any() && string.IsNullOrWhiteSpace(provider["ApiToken"]))
            {
                checker.Add(provider.GetSection("ApiToken").Path, $"is required to use the {provider.Key} generator (or remove {provider.Path}).");
            }
        }

        var openAI = generatorsSection.GetSection(OpenAIImageModels.SectionName);
        OpenAIImageModels.Check(checker, openAI);
        var telemetry = checker.Check<SampleTelemetryOptions>(root.GetSection("Telemetry"));
        checker.ThrowIfInvalid();

        // Keys were checked above with their full paths, so the binds below need not be strict.
        var builder = services.AddMediaGeneration();
        services.AddOptions<MediaGenerationOptions>().Bind(root);
        builder.ConfigureCredits(o => o.InitialBalance = SampleInitialBalance);
        services.AddOptions<CreditLedgerOptions>().Bind(root.GetSection("Credits"));
        services.AddOptions<WebhookOptions>().Bind(root.GetSection("Webhooks"));

        switch (queueProvider)
        {
            case InMemoryProvider:
                builder.UseInMemoryQueue();
                services.AddOptions<InMemoryJobQueueOptions>().Bind(root.GetSection("InMemoryQueue"));
                break;

            case "Redis":
                builder.UseRedisQueue(root.GetSection("Redis"));
                break;

            case "ServiceBus":
                // MediaGen:ServiceBus binds ServiceBusQueueOptions strictly (an unknown key stops the host at start-up).
                builder.UseServiceBusQueue(root.GetSection("ServiceBus"));
                break;

            case PostgreSqlProvider:
                // MediaGen:PostgreSql binds PostgreSqlOptions strictly: queue, store, ledger and events on one database.
                builder.UsePostgreSql(root.GetSection(PostgreSqlProvider));
                break;

            // Other adapter packages add their cases here.
            default:
                throw NotAvailable(queueSection.GetSection("Provider").Path, queueProvider, AvailableQueueProviders);
        }

        if (storeProvider == "Redis" && queueProvider != "Redis")
        {
            // A queue from another system beside a shared Redis state: API and worker processes see the same jobs.
            builder.UseRedisStore(root.GetSection("Redis"));
        }
        else if (storeProvider == PostgreSqlProvider && queueProvider != PostgreSqlProvider)
        {
            // A queue from another system (Service Bus) beside the job store, ledger and events on PostgreSQL.
            builder.UsePostgreSqlStore(root.GetSection(PostgreSqlProvider));
        }

        switch (storageProvider)
        {
            case FileSystemProvider:
                builder.UseFileSystemStorage();
                services.AddOptions<FileSystemStorageOptions>().Bind(root.GetSection("FileSystem"));
                break;

            case "S3":
                builder.UseS3Storage(root.GetSection("S3"));
                break;

            case "Blob":
                builder.UseBlobStorage(root.GetSection("Blob"));
                break;

            default:
                throw NotAvailable(storageSection.GetSection("Provider").Path, storageProvider, AvailableStorageProviders);
        }

        builder.AddProceduralGenerator();
        services.AddOptions<ProceduralGeneratorOptions>().Bind(generatorsSection.GetSection("Procedural"));
        if (!string.IsNullOrWhiteSpace(replicate["ApiToken"]))
        {
            builder.AddReplicateGenerator(replicate);
        }

        if (!string.IsNullOrWhiteSpace(huggingFace["ApiToken"]))
        {
            builder.AddHuggingFaceGenerator(huggingFace);
        }

        if (thumbnailsEnabled)
        {
            // A WebP thumbnail beside every output (MediaGen:Thumbnails:MaxSide, Format, Quality; Enabled=false to skip).
            builder.AddSkiaSharpThumbnails(o => thumbnails.Bind(o));
        }

        // MediaGen:ResultCache:Models / AllowRequestOptIn / CacheHitCredits / Retention: identical fixed-seed requests are
        // served from copies of an earlier job's images, without calling the provider.
        builder.ConfigureResultCache(resultCache);

        if (moderation.Exists())
        {
            // MediaGen:Moderation:Terms / Patterns: refused at submission (422 content_blocked), before any charge.
            builder.AddBlockedTermsModerator(o => moderation.Bind(o));
        }

        if (!string.IsNullOrWhiteSpace(openAI[OpenAIImageModels.ApiKeyKey]))
        {
            OpenAIImageModels.Add(builder, openAI);
        }

        return new MediaGenHostSetup(builder, root, queueProvider, storageProvider, workerEnabled, telemetry!);
    }

    private static string ResolveProvider(ConfigurationChecker checker, IConfigurationSection section, IReadOnlyList<string> providers, IReadOnlyList<string> available, string defaultProvider)
    {
        var key = section.GetSection("Provider");
        var value = key.Value;
        if (string.IsNullOrWhiteSpace(value))
        {
            return defaultProvider;
        }

        var canonical = providers.FirstOrDefault(p => string.Equals(p, value.Trim(), StringComparison.OrdinalIgnoreCase));
        if (canonical is null)
        {
            checker.Add(key.Path, $"has the unknown value '{value}'; use {JoinChoices(providers)}.");
            return defaultProvider;
        }

        if (!available.Contains(canonical))
        {
            checker.Add(key.Path, $"is '{canonical}', which is not available in this build of the samples; use {JoinChoices(available)}.");
        }

        return canonical;
    }

    private static MediaGenConfigurationException NotAvailable(string key, string provider, IReadOnlyList<string> available) =>
        new([$"{key} is '{provider}', which is not available in this build of the samples; use {JoinChoices(available)}."]);

    private static string JoinChoices(IReadOnlyList<string> choices) =>
        choices.Count == 1 ? choices[0] : string.Join(", ", choices.Take(choices.Count - 1)) + " or " + choices[^1];
}
