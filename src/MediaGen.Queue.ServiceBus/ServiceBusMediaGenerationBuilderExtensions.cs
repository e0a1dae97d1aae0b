using Azure.Core;
using Azure.Messaging.ServiceBus;
using Azure.Messaging.ServiceBus.Administration;
using MediaGen;
using MediaGen.ServiceBus.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using static Microsoft.Extensions.DependencyInjection.MediaGenerationAdapterBuilderExtensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Chooses the Azure Service Bus queue for MediaGen.</summary>
public static class ServiceBusMediaGenerationBuilderExtensions
{
    private const string LoggerCategory = "MediaGen.Queue.ServiceBus";

    /// <summary>
    /// Uses the Service Bus queue, configured in code: a connection string, or a <see cref="ServiceBusQueueOptions.FullyQualifiedNamespace"/>
    /// with a <see cref="ServiceBusQueueOptions.Credential"/>. MediaGen creates the client and disposes it.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="ServiceBusQueueOptions"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue was already chosen.</exception>
    public static IMediaGenerationBuilder UseServiceBusQueue(this IMediaGenerationBuilder builder, Action<ServiceBusQueueOptions> configure) =>
        UseServiceBus(builder, configure ?? throw new ArgumentNullException(nameof(configure)), section: null, clientFactory: null, administrationClientFactory: null);

    /// <summary>Uses the Service Bus queue with options bound from <paramref name="section"/>; an unknown key is a start-up error.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section, for example <c>MediaGen:ServiceBus</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue was already chosen.</exception>
    public static IMediaGenerationBuilder UseServiceBusQueue(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        UseServiceBus(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)), clientFactory: null, administrationClientFactory: null);

    /// <summary>Uses the Service Bus queue <paramref name="queueName"/> with a connection string.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connectionString">The Service Bus connection string.</param>
    /// <param name="queueName">The queue.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue was already chosen.</exception>
    public static IMediaGenerationBuilder UseServiceBusQueue(this IMediaGenerationBuilder builder, string connectionString, string queueName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentException.ThrowIfNullOrWhiteSpace(queueName);
        return UseServiceBusQueue(builder, o =>
        {
            o.ConnectionString = connectionString;
            o.QueueName = queueName;
        });
    }

    /// <summary>Uses the Service Bus queue <paramref name="queueName"/> on a namespace with a Microsoft Entra ID credential.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="fullyQualifiedNamespace">The namespace host, for example <c>contoso.servicebus.windows.net</c>.</param>
    /// <param name="credential">The credential, for example <c>new DefaultAzureCredential()</c> or a managed identity.</param>
    /// <param name="queueName">The queue.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue was already chosen.</exception>
    public static IMediaGenerationBuilder UseServiceBusQueue(this IMediaGenerationBuilder builder, string fullyQualifiedNamespace, TokenCredential credential, string queueName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fullyQualifiedNamespace);
        ArgumentNullException.ThrowIfNull(credential);
        ArgumentException.ThrowIfNullOrWhiteSpace(queueName);
        return UseServiceBusQueue(builder, o =>
        {
            o.FullyQualifiedNamespace = fullyQualifiedNamespace;
            o.Credential = credential;
            o.QueueName = queueName;
        });
    }

    /// <summary>
    /// Uses the Service Bus queue on a <see cref="ServiceBusClient"/> the caller owns (for example one shared from
    /// dependency injection); MediaGen creates its sender and receivers on it and never disposes it. Only the
    /// queue-level options (<see cref="ServiceBusQueueOptions.QueueName"/>, prefetch, batch size, dead letters) apply.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="clientFactory">Returns the client, for example <c>sp =&gt; sp.GetRequiredService&lt;ServiceBusClient&gt;()</c>.</param>
    /// <param name="configure">Configures <see cref="ServiceBusQueueOptions"/>; null keeps the defaults.</param>
    /// <param name="administrationClientFactory">Returns an administration client for depth figures; null reports depth as -1.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue was already chosen.</exception>
    public static IMediaGenerationBuilder UseServiceBusQueue(
        this IMediaGenerationBuilder builder,
        Func<IServiceProvider, ServiceBusClient> clientFactory,
        Action<ServiceBusQueueOptions>? configure = null,
        Func<IServiceProvider, ServiceBusAdministrationClient>? administrationClientFactory = null) =>
        UseServiceBus(builder, configure, section: null, clientFactory ?? throw new ArgumentNullException(nameof(clientFactory)), administrationClientFactory);

    /// <summary>Uses the Service Bus queue on <paramref name="client"/>, which the caller owns and disposes; MediaGen never does.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="client">The client.</param>
    /// <param name="configure">Configures <see cref="ServiceBusQueueOptions"/>; null keeps the defaults.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue was already chosen.</exception>
    public static IMediaGenerationBuilder UseServiceBusQueue(this IMediaGenerationBuilder builder, ServiceBusClient client, Action<ServiceBusQueueOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        return UseServiceBusQueue(builder, _ => client, configure);
    }

    // Every overload funnels here: the options registered, bound and validated at start-up, then the queue on the client
    // MediaGen creates and disposes or on the caller's.
    private static IMediaGenerationBuilder UseServiceBus(
        IMediaGenerationBuilder builder,
        Action<ServiceBusQueueOptions>? configure,
        IConfigurationSection? section,
        Func<IServiceProvider, ServiceBusClient>? clientFactory,
        Func<IServiceProvider, ServiceBusAdministrationClient>? administrationClientFactory)
    {
        var options = builder.AddValidatedOptions<ServiceBusQueueOptions, ServiceBusQueueOptionsValidator>(configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys));
        if (clientFactory is not null)
        {
            return builder.UseQueue(sp => new ServiceBusJobQueue(
                clientFactory(sp),
                ownsClient: false,
                administrationClientFactory?.Invoke(sp),
                sp.GetRequiredService<IOptions<ServiceBusQueueOptions>>().Value,
                sp.GetService<TimeProvider>() ?? TimeProvider.System,
                CreateLogger(sp)));
        }

        options.Validate(ServiceBusConnection.NamesNamespace, "Service Bus needs ConnectionString, or FullyQualifiedNamespace (with Credential, or DefaultAzureCredential when none is set).");
        return builder.UseQueue(sp =>
        {
            var current = sp.GetRequiredService<IOptions<ServiceBusQueueOptions>>().Value;
            var (client, administration) = ServiceBusConnection.Create(current);
            return new ServiceBusJobQueue(client, ownsClient: true, administration, current, sp.GetService<TimeProvider>() ?? TimeProvider.System, CreateLogger(sp));
        });
    }

    private static ILogger CreateLogger(IServiceProvider sp) =>
        sp.GetService<ILoggerFactory>()?.CreateLogger(LoggerCategory) ?? NullLogger.Instance;
}
