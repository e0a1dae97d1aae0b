using Azure.Core;
using Azure.Identity;
using Azure.Messaging.ServiceBus;
using Azure.Messaging.ServiceBus.Administration;

namespace MediaGen.ServiceBus.Internal;

/// <summary>Creates the clients <see cref="ServiceBusQueueOptions"/> describes: a connection string, or a namespace with a credential.</summary>
internal static class ServiceBusConnection
{
    /// <summary>Whether the options name a namespace: a connection string, or a fully qualified namespace.</summary>
    public static bool NamesNamespace(ServiceBusQueueOptions options) =>
        !string.IsNullOrWhiteSpace(options.ConnectionString) || !string.IsNullOrWhiteSpace(options.FullyQualifiedNamespace);

    /// <summary>Creates the messaging client and, when depth is reported and the namespace can have one, the administration client.</summary>
    public static (ServiceBusClient Client, ServiceBusAdministrationClient? Administration) Create(ServiceBusQueueOptions options)
    {
        var clientOptions = new ServiceBusClientOptions { TransportType = options.TransportType, RetryOptions = options.Retry };
        var administrationOptions = new ServiceBusAdministrationClientOptions();
        administrationOptions.Retry.MaxRetries = 1;
        if (!string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            var client = new ServiceBusClient(options.ConnectionString, clientOptions);

            // The development emulator (and the test endpoint) have no HTTPS administration API on the namespace's host.
            var emulator = options.ConnectionString.Contains("UseDevelopmentEmulator=true", StringComparison.OrdinalIgnoreCase);
            var administration = options.ReportDepth && !emulator ? new ServiceBusAdministrationClient(options.ConnectionString, administrationOptions) : null;
            return (client, administration);
        }

        TokenCredential credential = options.Credential ?? new DefaultAzureCredential();
        var ns = options.FullyQualifiedNamespace!;
        return (
            new ServiceBusClient(ns, credential, clientOptions),
            options.ReportDepth ? new ServiceBusAdministrationClient(ns, credential, administrationOptions) : null);
    }
}
