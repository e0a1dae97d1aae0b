using System.Globalization;

namespace MediaGen.ServiceBus.Internal;

/// <summary>
/// Everything <see cref="ServiceBusQueueOptions"/> says, resolved once: where to connect, how to authenticate, the node
/// addresses and the outcome policy with the broker's defaults filled in.
/// </summary>
internal sealed record AmqpBrokerSettings
{
    public required string Host { get; init; }

    public required int Port { get; init; }

    public required bool UseTls { get; init; }

    /// <summary>SASL PLAIN user; null for ANONYMOUS.</summary>
    public string? User { get; init; }

    public string? Password { get; init; }

    public string? SasKeyName { get; init; }

    public string? SasKey { get; init; }

    public required string QueueAddress { get; init; }

    public required string DeadLetterAddress { get; init; }

    /// <summary>The management node; null when the broker has none (locks are then renewed locally).</summary>
    public string? ManagementAddress { get; init; }

    public required AmqpAbandonOutcome Abandon { get; init; }

    public required AmqpDelayedAbandon DelayedAbandon { get; init; }

    public required bool ClaimsBasedSecurity { get; init; }

    /// <summary>The audience (and SAS resource URI) of a node: <c>sb://host/address</c>.</summary>
    public string AudienceFor(string address) => $"sb://{Host}/{address.TrimStart('/')}";

    public static AmqpBrokerSettings Resolve(ServiceBusQueueOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string? host = options.FullyQualifiedNamespace;
        int? port = options.Port;
        var useTls = options.UseTls;
        string? user = null, password = null;
        var keyName = options.SasKeyName;
        var key = options.SasKey;
        var connectionString = options.ConnectionString;

        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            if (Uri.TryCreate(connectionString.Trim(), UriKind.Absolute, out var uri)
                && (uri.Scheme.Equals("amqp", StringComparison.OrdinalIgnoreCase) || uri.Scheme.Equals("amqps", StringComparison.OrdinalIgnoreCase)))
            {
                host = uri.Host;
                useTls = uri.Scheme.Equals("amqps", StringComparison.OrdinalIgnoreCase);
                port ??= uri.IsDefaultPort || uri.Port <= 0 ? null : uri.Port;
                if (!string.IsNullOrEmpty(uri.UserInfo))
                {
                    var parts = uri.UserInfo.Split(':', 2);
                    user = Uri.UnescapeDataString(parts[0]);
                    password = parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : string.Empty;
                }
            }
            else
            {
                var values = ParseKeyValues(connectionString);
                if (values.TryGetValue("Endpoint", out var endpoint) && Uri.TryCreate(endpoint, UriKind.Absolute, out var endpointUri))
                {
                    host = endpointUri.Host;
                    port ??= endpointUri.IsDefaultPort || endpointUri.Port <= 0 ? null : endpointUri.Port;
                }

                keyName = values.GetValueOrDefault("SharedAccessKeyName") ?? keyName;
                key = values.GetValueOrDefault("SharedAccessKey") ?? key;
                if (values.ContainsKey("SharedAccessSignature"))
                {
                    throw new InvalidOperationException(
                        "The Service Bus connection string carries a SharedAccessSignature; this queue needs SharedAccessKeyName and SharedAccessKey so it can refresh its own tokens.");
                }
            }
        }

        if (string.IsNullOrWhiteSpace(host))
        {
            throw new InvalidOperationException(
                "No Service Bus namespace is configured: set ServiceBus ConnectionString (Endpoint=sb://NAMESPACE.servicebus.windows.net/;SharedAccessKeyName=...;SharedAccessKey=...) or FullyQualifiedNamespace with SasKeyName and SasKey.");
        }

        var broker = options.Broker;
        var cbs = options.OutcomePolicy.ClaimsBasedSecurity ?? broker == AmqpBrokerProfile.ServiceBus;
        if (cbs && (string.IsNullOrEmpty(keyName) || string.IsNullOrEmpty(key)))
        {
            throw new InvalidOperationException(
                "Claims-based security needs a shared access key: the connection string must carry SharedAccessKeyName and SharedAccessKey, or set SasKeyName and SasKey.");
        }

        var queue = options.QueueName;
        var rabbit = broker == AmqpBrokerProfile.RabbitMQ;
        var map = options.AddressMap;
        var management = map.Management ?? (rabbit ? null : "{queue}/$management");
        return new AmqpBrokerSettings
        {
            Host = host,
            Port = port ?? (useTls ? 5671 : 5672),
            UseTls = useTls,
            User = cbs ? null : user,
            Password = cbs ? null : password,
            SasKeyName = keyName,
            SasKey = key,
            QueueAddress = Expand(map.Queue ?? (rabbit ? "/amq/queue/{queue}" : "{queue}"), queue),
            DeadLetterAddress = Expand(map.DeadLetterQueue ?? (rabbit ? "/amq/queue/{queue}.dead-letter" : "{queue}/$DeadLetterQueue"), queue),
            ManagementAddress = string.IsNullOrEmpty(management) ? null : Expand(management, queue),
            Abandon = options.OutcomePolicy.Abandon ?? (rabbit ? AmqpAbandonOutcome.Released : AmqpAbandonOutcome.Modified),
            DelayedAbandon = options.OutcomePolicy.DelayedAbandon ?? (rabbit ? AmqpDelayedAbandon.HoldThenRelease : AmqpDelayedAbandon.ScheduledCopy),
            ClaimsBasedSecurity = cbs,
        };
    }

    private static string Expand(string format, string queue) => format.Replace("{queue}", queue, StringComparison.Ordinal);

    private static Dictionary<string, string> ParseKeyValues(string connectionString)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new InvalidOperationException(
                    string.Create(CultureInfo.InvariantCulture, $"The Service Bus connection string has a part without '=' at position {connectionString.IndexOf(part, StringComparison.Ordinal)}; expected Key=Value pairs separated by ';'."));
            }

            values[part[..eq].Trim()] = part[(eq + 1)..].Trim();
        }

        return values;
    }
}
