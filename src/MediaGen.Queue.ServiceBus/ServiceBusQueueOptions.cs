using System.ComponentModel.DataAnnotations;
using Azure.Core;
using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Options;
using MediaGen.Shared;

namespace MediaGen;

/// <summary>Options for the job queue on Azure Service Bus.</summary>
/// <remarks>
/// Name the namespace one way: <see cref="ConnectionString"/> (shared access key), or <see cref="FullyQualifiedNamespace"/>
/// with <see cref="Credential"/> (Microsoft Entra ID: managed identity, <c>DefaultAzureCredential</c>). A namespace given
/// without a credential uses <c>DefaultAzureCredential</c>. When the queue is registered with a caller-owned
/// <see cref="ServiceBusClient"/>, neither is read.
/// </remarks>
public sealed class ServiceBusQueueOptions
{
    /// <summary>
    /// A Service Bus connection string, for example
    /// <c>Endpoint=sb://NAMESPACE.servicebus.windows.net/;SharedAccessKeyName=...;SharedAccessKey=...</c>. Never logged.
    /// </summary>
    /// <value>The default value is null.</value>
    public string? ConnectionString { get; set; }

    /// <summary>The namespace host, for example <c>contoso.servicebus.windows.net</c>, used with <see cref="Credential"/>.</summary>
    /// <value>The default value is null.</value>
    public string? FullyQualifiedNamespace { get; set; }

    /// <summary>
    /// The Microsoft Entra ID credential for <see cref="FullyQualifiedNamespace"/> (set in code, not in configuration).
    /// Null uses <c>DefaultAzureCredential</c>.
    /// </summary>
    /// <value>The default value is null.</value>
    public TokenCredential? Credential { get; set; }

    /// <summary>The queue's name. Create it beforehand; see the package README for its settings.</summary>
    /// <value>The default value is <c>mediagen-jobs</c>.</value>
    [Required]
    [MinimumLength(1)]
    public string QueueName { get; set; } = "mediagen-jobs";

    /// <summary>
    /// How many messages the receiver fetches ahead of a receive (<see cref="ServiceBusReceiverOptions.PrefetchCount"/>).
    /// Prefetched messages are already locked, so keep it below what the workers finish within one lock duration.
    /// </summary>
    /// <value>The default value is 0 (no prefetch).</value>
    [Range(0, 10_000)]
    public int PrefetchCount { get; set; }

    /// <summary>The most messages one receive asks Service Bus for, whatever the worker asks.</summary>
    /// <value>The default value is 100.</value>
    [Range(1, 1_000)]
    public int MaxReceiveBatchSize { get; set; } = 100;

    /// <summary>
    /// How long a receive that is asked not to wait still waits for Service Bus to answer (the client needs a positive
    /// wait; a receive that may wait longer uses its own wait). Wall-clock time: it is a network round trip.
    /// </summary>
    /// <value>The default value is 200 milliseconds.</value>
    [TimeSpanRange("00:00:00.010", "00:00:30")]
    public TimeSpan MinimumReceiveWait { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The client's retry policy for every operation (<see cref="ServiceBusRetryOptions"/>: <c>Mode</c>, <c>MaxRetries</c>,
    /// <c>Delay</c>, <c>MaxDelay</c>, <c>TryTimeout</c>). Not used with a caller-owned client, which has its own.
    /// </summary>
    /// <value>The default value is the client's default: exponential, 3 retries, 0.8 s delay, 1 min max delay, 1 min try timeout.</value>
    public ServiceBusRetryOptions Retry { get; set; } = new();

    /// <summary>The transport. Use <see cref="ServiceBusTransportType.AmqpWebSockets"/> where only port 443 is open.</summary>
    /// <value>The default value is <see cref="ServiceBusTransportType.AmqpTcp"/>.</value>
    public ServiceBusTransportType TransportType { get; set; } = ServiceBusTransportType.AmqpTcp;

    /// <summary>The dead-letter reason given to a message whose body is not a MediaGen job message.</summary>
    /// <value>The default value is <see cref="MediaGenErrorCodes.MalformedMessage"/> (<c>malformed_message</c>).</value>
    [Required]
    [MinimumLength(1)]
    public string MalformedMessageReason { get; set; } = MediaGenErrorCodes.MalformedMessage;

    /// <summary>How many dead letters, oldest first, <see cref="IJobQueue.ResubmitDeadLetterAsync"/> looks through for the message id.</summary>
    /// <value>The default value is 256.</value>
    [Range(1, 10_000)]
    public int DeadLetterScanCount { get; set; } = 256;

    /// <summary>
    /// Whether <see cref="IJobQueue.GetDepthAsync"/> asks the namespace's administration API for message counts. It needs
    /// the Manage right; without it (or when off) every figure is -1. Off for a development-emulator connection string.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool ReportDepth { get; set; } = true;
}

/// <summary>Validates <see cref="ServiceBusQueueOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class ServiceBusQueueOptionsValidator : IValidateOptions<ServiceBusQueueOptions>
{
}
