using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Azure.Messaging.ServiceBus;

namespace MediaGen.ServiceBus.Internal;

/// <summary>
/// Maps <see cref="QueueMessage"/> to and from Service Bus messages. The body is <c>{"jobId":"..."}</c> (content type
/// <c>application/json</c>); the message id is <see cref="QueueMessage.MessageId"/>, so duplicate detection applies;
/// headers (the trace context) are application properties, and so is the priority, which Service Bus does not order by.
/// </summary>
internal static class ServiceBusMessageMapping
{
    public const string PriorityProperty = "mediagen-priority";
    public const string PriorDeliveriesProperty = "mediagen-prior-deliveries";
    public const string CopyProperty = "mediagen-copy";

    /// <summary>The message's <see cref="QueueMessage.GroupId"/>, carried for the lease (Service Bus does not schedule by it).</summary>
    public const string GroupProperty = "mediagen-group";
    public const string FirstEnqueuedProperty = "mediagen-first-enqueued";
    public const string ContentType = "application/json";

    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal)
    {
        PriorityProperty, PriorDeliveriesProperty, CopyProperty, FirstEnqueuedProperty, GroupProperty,
    };

    /// <summary>Builds the Service Bus message for <paramref name="message"/>.</summary>
    /// <param name="message">The queue message.</param>
    /// <param name="priority">Its priority, carried for the lease.</param>
    /// <param name="scheduledAt">When Service Bus should make it visible; null for at once.</param>
    /// <param name="carried">Figures a copy carries over from the message it replaces.</param>
    /// <returns>The message to send.</returns>
    public static ServiceBusMessage ToServiceBus(QueueMessage message, JobPriority priority, DateTimeOffset? scheduledAt, CarriedFigures carried = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var sent = new ServiceBusMessage(BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(new JobBody(message.JobId), BodyContext.Default.JobBody)))
        {
            MessageId = message.MessageId,
            ContentType = ContentType,
        };
        var properties = sent.ApplicationProperties;
        if (message.Headers is { } headers)
        {
            foreach (var (key, value) in headers)
            {
                if (!Reserved.Contains(key))
                {
                    properties[key] = value;
                }
            }
        }

        properties[PriorityProperty] = priority.ToString();
        if (message.GroupId is { } group)
        {
            properties[GroupProperty] = group;
        }

        if (carried.PriorDeliveries > 0)
        {
            properties[PriorDeliveriesProperty] = carried.PriorDeliveries;
        }

        if (carried.Copy > 0)
        {
            properties[CopyProperty] = carried.Copy;
        }

        if (carried.FirstEnqueuedAt is { } first)
        {
            properties[FirstEnqueuedProperty] = first;
        }

        if (scheduledAt is { } at)
        {
            sent.ScheduledEnqueueTime = at;
        }

        return sent;
    }

    /// <summary>Reads a received message; false when it is not a MediaGen job message.</summary>
    /// <param name="received">The received message.</param>
    /// <param name="figures">What it says.</param>
    /// <param name="problem">Why it is not a job message.</param>
    /// <returns>Whether it is a job message.</returns>
    public static bool TryRead(ServiceBusReceivedMessage received, [NotNullWhen(true)] out ReceivedFigures? figures, [NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(received);
        figures = null;
        if (!TryReadJobId(received.Body, out var jobId, out problem))
        {
            return false;
        }

        Dictionary<string, string>? headers = null;
        var priority = JobPriority.Normal;
        var priorDeliveries = 0;
        var copy = 0;
        string? group = null;
        DateTimeOffset? firstEnqueued = null;
        foreach (var (name, value) in received.ApplicationProperties)
        {
            switch (name)
            {
                case PriorityProperty when value is string p && Enum.TryParse<JobPriority>(p, out var parsed) && Enum.IsDefined(parsed):
                    priority = parsed;
                    break;
                case PriorDeliveriesProperty:
                    priorDeliveries = ToInt(value);
                    break;
                case CopyProperty:
                    copy = ToInt(value);
                    break;
                case GroupProperty:
                    group = value as string;
                    break;
                case FirstEnqueuedProperty:
                    firstEnqueued = value switch
                    {
                        DateTimeOffset o => o,
                        DateTime t => new DateTimeOffset(t.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : t.ToUniversalTime()),
                        _ => null,
                    };
                    break;
                default:
                    if (!Reserved.Contains(name) && !name.StartsWith("DeadLetter", StringComparison.Ordinal))
                    {
                        (headers ??= new Dictionary<string, string>(StringComparer.Ordinal))[name] = Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;
                    }

                    break;
            }
        }

        figures = new ReceivedFigures
        {
            Message = new QueueMessage(jobId) { MessageId = received.MessageId ?? jobId, Headers = headers, GroupId = group },
            Priority = priority,
            Carried = new CarriedFigures(priorDeliveries, copy, firstEnqueued),
            BrokerDeliveryCount = received.DeliveryCount,
            BrokerEnqueuedAt = received.EnqueuedTime,
        };
        return true;
    }

    private static bool TryReadJobId(BinaryData? body, [NotNullWhen(true)] out string? jobId, [NotNullWhen(false)] out string? problem)
    {
        jobId = null;
        if (body is null || body.ToMemory().IsEmpty)
        {
            problem = "The message body is empty.";
            return false;
        }

        try
        {
            var parsed = JsonSerializer.Deserialize(body.ToMemory().Span, BodyContext.Default.JobBody);
            if (string.IsNullOrEmpty(parsed?.JobId))
            {
                problem = "The message body has no jobId.";
                return false;
            }

            jobId = parsed.JobId;
            problem = null;
            return true;
        }
        catch (JsonException e)
        {
            problem = "The message body is not valid JSON: " + e.Message;
            return false;
        }
    }

    private static int ToInt(object? value) => value switch
    {
        int i => i,
        long l => (int)Math.Clamp(l, 0, int.MaxValue),
        string s when int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => 0,
    };
}

/// <summary>Figures a copy of a message (a delayed retry or a resubmitted dead letter) carries from the message it replaces.</summary>
/// <param name="PriorDeliveries">Deliveries of the replaced message, so the delivery count keeps counting.</param>
/// <param name="Copy">How many copies were made before this one; the copy's message id is <c>{jobId}:{Copy}</c>.</param>
/// <param name="FirstEnqueuedAt">When the first message was enqueued.</param>
internal readonly record struct CarriedFigures(int PriorDeliveries, int Copy, DateTimeOffset? FirstEnqueuedAt);

/// <summary>What a received message says.</summary>
internal sealed record ReceivedFigures
{
    public required QueueMessage Message { get; init; }

    public required JobPriority Priority { get; init; }

    public CarriedFigures Carried { get; init; }

    /// <summary>Service Bus's delivery count of this message, this delivery included.</summary>
    public int BrokerDeliveryCount { get; init; }

    /// <summary>When Service Bus enqueued this message.</summary>
    public DateTimeOffset BrokerEnqueuedAt { get; init; }

    /// <summary>When the first of the copies was enqueued.</summary>
    public DateTimeOffset EnqueuedAt => Carried.FirstEnqueuedAt ?? BrokerEnqueuedAt;

    /// <summary>Deliveries including this one, counted across the copies that replaced each other.</summary>
    public int DeliveryCount => Carried.PriorDeliveries + BrokerDeliveryCount;

    /// <summary>The message a copy of this one would be: message id <c>{jobId}:{n}</c>, same headers.</summary>
    /// <param name="priorDeliveries">The deliveries the copy carries.</param>
    /// <returns>The copy and its figures.</returns>
    public (QueueMessage Copy, CarriedFigures Carried) NextCopy(int priorDeliveries)
    {
        var number = Carried.Copy + 1;
        var copy = new QueueMessage(Message.JobId) { MessageId = $"{Message.JobId}:{number}", Headers = Message.Headers, GroupId = Message.GroupId };
        return (copy, new CarriedFigures(priorDeliveries, number, EnqueuedAt));
    }
}

internal sealed record JobBody(string JobId);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(JobBody))]
internal sealed partial class BodyContext : JsonSerializerContext
{
}
