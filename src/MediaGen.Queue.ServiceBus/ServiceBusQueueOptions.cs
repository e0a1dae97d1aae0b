using System.ComponentModel.DataAnnotations;
using System.Net.Security;
using Microsoft.Extensions.Options;

namespace MediaGen;

/// <summary>Options for the Azure Service Bus queue, which speaks AMQP 1.0 and so also runs on other AMQP 1.0 brokers.</summary>
/// <remarks>
/// Give either <see cref="ConnectionString"/> or <see cref="FullyQualifiedNamespace"/> with <see cref="SasKeyName"/> and
/// <see cref="SasKey"/>. A connection string is either a Service Bus one
/// (<c>Endpoint=sb://NAMESPACE.servicebus.windows.net/;SharedAccessKeyName=...;SharedAccessKey=...</c>) or, for another
/// broker, an <c>amqp://user:password@host:port</c> or <c>amqps://...</c> URI.
/// </remarks>
public sealed class ServiceBusQueueOptions
{
    /// <summary>A Service Bus connection string with <c>SharedAccessKeyName</c> and <c>SharedAccessKey</c>, or an AMQP URI.</summary>
    /// <value>The default value is null.</value>
    public string? ConnectionString { get; set; }

    /// <summary>The namespace host, for example <c>contoso.servicebus.windows.net</c>, when no connection string is given.</summary>
    /// <value>The default value is null.</value>
    public string? FullyQualifiedNamespace { get; set; }

    /// <summary>The shared access policy name, when no connection string is given.</summary>
    /// <value>The default value is null.</value>
    public string? SasKeyName { get; set; }

    /// <summary>The shared access policy key, when no connection string is given. Never logged.</summary>
    /// <value>The default value is null.</value>
    public string? SasKey { get; set; }

    /// <summary>The queue's name. Create it beforehand; see the package README for its settings.</summary>
    /// <value>The default value is <c>mediagen-jobs</c>.</value>
    [Required]
    [MinLength(1)]
    public string QueueName { get; set; } = "mediagen-jobs";

    /// <summary>The TCP port; null uses 5671 with TLS and 5672 without, unless the connection string names one.</summary>
    /// <value>The default value is null.</value>
    [Range(1, 65535)]
    public int? Port { get; set; }

    /// <summary>Whether the connection uses TLS (amqps). Service Bus requires it.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool UseTls { get; set; } = true;

    /// <summary>
    /// Validates the broker's TLS certificate instead of the platform's default check, for example to trust one
    /// self-signed certificate of a test broker. Null keeps the default validation.
    /// </summary>
    /// <value>The default value is null.</value>
    public RemoteCertificateValidationCallback? RemoteCertificateValidation { get; set; }

    /// <summary>The broker the queue runs on; it chooses the defaults of <see cref="AddressMap"/> and <see cref="OutcomePolicy"/>.</summary>
    /// <value>The default value is <see cref="AmqpBrokerProfile.ServiceBus"/>.</value>
    public AmqpBrokerProfile Broker { get; set; } = AmqpBrokerProfile.ServiceBus;

    /// <summary>The AMQP node addresses of the queue, its dead-letter queue and its management node; unset entries take the broker's defaults.</summary>
    public AmqpAddressMap AddressMap { get; set; } = new();

    /// <summary>How lease operations map to AMQP outcomes; unset entries take the broker's defaults.</summary>
    public AmqpOutcomePolicy OutcomePolicy { get; set; } = new();

    /// <summary>
    /// The lease duration assumed when the broker does not report <c>x-opt-locked-until</c> (brokers without locks, such
    /// as RabbitMQ, where a delivery stays held until it is settled or its link closes). Service Bus reports the queue's
    /// lock duration on every message, and that wins.
    /// </summary>
    /// <value>The default value is 30 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan LockDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long each shared access signature put to <c>$cbs</c> is valid; it is refreshed at four fifths of this.</summary>
    /// <value>The default value is 1 hour.</value>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a send, a management request or opening the connection may take before it fails as unavailable.</summary>
    /// <value>The default value is 30 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The first wait before reconnecting after a failed connection attempt; it doubles up to <see cref="MaxReconnectDelay"/>.</summary>
    /// <value>The default value is 1 second.</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between reconnection attempts.</summary>
    /// <value>The default value is 30 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The network allowance of a receive, in wall-clock time: a receive that does not wait still gives the broker this
    /// long to deliver what it holds, and a receive that got its first message waits a quarter of this for more of the
    /// batch. It is a network round trip, not queue time, so it is measured on the system clock.
    /// </summary>
    /// <value>The default value is 200 milliseconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:30")]
    public TimeSpan ReceiveRoundTrip { get; set; } = TimeSpan.FromMilliseconds(200);
}

/// <summary>The AMQP 1.0 broker a <see cref="ServiceBusQueueOptions"/> queue runs on.</summary>
public enum AmqpBrokerProfile
{
    /// <summary>Azure Service Bus: SASL ANONYMOUS with claims-based security (<c>$cbs</c>), peek-lock, <c>$management</c>.</summary>
    ServiceBus,

    /// <summary>RabbitMQ with its AMQP 1.0 plugin: SASL PLAIN, queues at <c>/amq/queue/{name}</c>, no lock expiry or management node.</summary>
    RabbitMQ,
}

/// <summary>The AMQP node addresses the queue uses; <c>{queue}</c> stands for <see cref="ServiceBusQueueOptions.QueueName"/>.</summary>
public sealed class AmqpAddressMap
{
    /// <summary>The queue's address.</summary>
    /// <value>The default value is null: <c>{queue}</c> on Service Bus, <c>/amq/queue/{queue}</c> on RabbitMQ.</value>
    public string? Queue { get; set; }

    /// <summary>The dead-letter queue's address.</summary>
    /// <value>The default value is null: <c>{queue}/$DeadLetterQueue</c> on Service Bus, <c>/amq/queue/{queue}.dead-letter</c> on RabbitMQ.</value>
    public string? DeadLetterQueue { get; set; }

    /// <summary>The management node that renews locks; empty for none.</summary>
    /// <value>The default value is null: <c>{queue}/$management</c> on Service Bus, none on RabbitMQ.</value>
    public string? Management { get; set; }
}

/// <summary>How lease operations map to AMQP outcomes and broker features.</summary>
public sealed class AmqpOutcomePolicy
{
    /// <summary>The outcome that returns a message at once (<see cref="IQueueLease.AbandonAsync"/> without a delay).</summary>
    /// <value>The default value is null: <see cref="AmqpAbandonOutcome.Modified"/> on Service Bus, <see cref="AmqpAbandonOutcome.Released"/> on RabbitMQ.</value>
    public AmqpAbandonOutcome? Abandon { get; set; }

    /// <summary>How a message is returned after a delay.</summary>
    /// <value>The default value is null: <see cref="AmqpDelayedAbandon.ScheduledCopy"/> on Service Bus, <see cref="AmqpDelayedAbandon.HoldThenRelease"/> on RabbitMQ.</value>
    public AmqpDelayedAbandon? DelayedAbandon { get; set; }

    /// <summary>Whether the connection authorizes each node by putting a shared access signature to <c>$cbs</c>.</summary>
    /// <value>The default value is null: <see langword="true"/> on Service Bus, <see langword="false"/> on RabbitMQ.</value>
    public bool? ClaimsBasedSecurity { get; set; }
}

/// <summary>The AMQP outcome that hands a message back to the broker.</summary>
public enum AmqpAbandonOutcome
{
    /// <summary><c>modified</c> with <c>delivery-failed</c>: the broker counts the delivery (Service Bus abandon).</summary>
    Modified,

    /// <summary><c>released</c>: the broker returns the message without counting (RabbitMQ, whose sessions end on <c>modified</c>).</summary>
    Released,
}

/// <summary>How a message is handed back after a delay.</summary>
public enum AmqpDelayedAbandon
{
    /// <summary>
    /// Send a copy scheduled with <c>x-opt-scheduled-enqueue-time</c> under a distinct message id (so duplicate detection
    /// keeps it), then complete the original. A crash between the two leaves both: the worker's idempotence absorbs it.
    /// </summary>
    ScheduledCopy,

    /// <summary>
    /// Keep the delivery unsettled in this process and release it when the delay has passed; for brokers without
    /// scheduled messages. If the process stops first, the broker redelivers the message early.
    /// </summary>
    HoldThenRelease,
}

/// <summary>Validates <see cref="ServiceBusQueueOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class ServiceBusQueueOptionsValidator : IValidateOptions<ServiceBusQueueOptions>
{
}
