using MediaGen;
using MediaGen.ServiceBus.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Chooses the Azure Service Bus queue (AMQP 1.0) for MediaGen.</summary>
public static class ServiceBusMediaGenerationBuilderExtensions
{
    /// <summary>The provider name the queue registers under.</summary>
    public const string ProviderName = "ServiceBus";

    /// <summary>Uses the Service Bus queue, configured in code.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="ServiceBusQueueOptions"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue was already chosen.</exception>
    public static IMediaGenerationBuilder UseServiceBusQueue(this IMediaGenerationBuilder builder, Action<ServiceBusQueueOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        UseServiceBusQueueCore(builder);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>Uses the Service Bus queue with options bound from <paramref name="section"/>; an unknown key is a start-up error.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section, for example <c>MediaGen:ServiceBus</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue was already chosen.</exception>
    public static IMediaGenerationBuilder UseServiceBusQueue(this IMediaGenerationBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        UseServiceBusQueueCore(builder);
        builder.Services.AddOptions<ServiceBusQueueOptions>().Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        return builder;
    }

    /// <summary>Uses the Service Bus queue on <paramref name="queueName"/> with a connection string carrying SharedAccessKeyName and SharedAccessKey.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="connectionString">The Service Bus connection string (or an AMQP URI for another broker).</param>
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

    /// <summary>Uses a Service Bus queue the caller created and owns (see <see cref="ServiceBusJobQueueFactory"/>); MediaGen never disposes it.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="queue">The queue.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another queue was already chosen.</exception>
    public static IMediaGenerationBuilder UseServiceBusQueue(this IMediaGenerationBuilder builder, ServiceBusJobQueueHandle queue)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(queue);
        return builder.UseQueue(ProviderName, _ => queue.Unowned);
    }

    private static void UseServiceBusQueueCore(IMediaGenerationBuilder builder)
    {
        builder.Services.AddOptions<ServiceBusQueueOptions>()
            .Validate(HasNamespace, "Service Bus needs ConnectionString, or FullyQualifiedNamespace with SasKeyName and SasKey.")
            .ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ServiceBusQueueOptions>, ServiceBusQueueOptionsValidator>());
        builder.UseQueue(ProviderName, sp => new ServiceBusJobQueue(
            sp.GetRequiredService<IOptions<ServiceBusQueueOptions>>().Value,
            sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetService<ILoggerFactory>()?.CreateLogger("MediaGen.Queue.ServiceBus") ?? NullLogger.Instance));
    }

    private static bool HasNamespace(ServiceBusQueueOptions o) =>
        !string.IsNullOrWhiteSpace(o.ConnectionString)
        || (!string.IsNullOrWhiteSpace(o.FullyQualifiedNamespace)
            && (o.Broker != AmqpBrokerProfile.ServiceBus || (!string.IsNullOrEmpty(o.SasKeyName) && !string.IsNullOrEmpty(o.SasKey))));
}
