using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using Amqp;
using Amqp.Framing;
using Amqp.Types;

namespace MediaGen.ServiceBus.Internal;

/// <summary>
/// Maps <see cref="QueueMessage"/> to and from AMQP messages. The body is a data section holding
/// <c>{"jobId":"..."}</c> (content type <c>application/json</c>); the message id is <see cref="QueueMessage.MessageId"/>,
/// so the broker's duplicate detection applies; headers (the trace context) are application properties; the priority
/// is both the AMQP header priority and an application property.
/// </summary>
internal static class AmqpMessageMapping
{
    public const string PriorityProperty = "mediagen-priority";
    public const string PriorDeliveriesProperty = "mediagen-prior-deliveries";
    public const string CopyProperty = "mediagen-copy";
    public const string FirstEnqueuedProperty = "mediagen-first-enqueued";
    public const string DeadLetterReasonProperty = "DeadLetterReason";
    public const string DeadLetterDescriptionProperty = "DeadLetterErrorDescription";
    public const string ContentType = "application/json";

    public static readonly Symbol LockedUntil = new("x-opt-locked-until");
    public static readonly Symbol LockToken = new("x-opt-lock-token");
    public static readonly Symbol EnqueuedTime = new("x-opt-enqueued-time");
    public static readonly Symbol SequenceNumber = new("x-opt-sequence-number");
    public static readonly Symbol ScheduledEnqueueTime = new("x-opt-scheduled-enqueue-time");
    public static readonly Symbol DeadLetterCondition = new("com.microsoft:dead-letter");

    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal)
    {
        PriorityProperty, PriorDeliveriesProperty, CopyProperty, FirstEnqueuedProperty, DeadLetterReasonProperty, DeadLetterDescriptionProperty,
    };

    /// <summary>Builds the AMQP message for <paramref name="message"/>.</summary>
    /// <param name="message">The queue message.</param>
    /// <param name="priority">Its priority.</param>
    /// <param name="scheduledAt">When the broker should make it visible; null for at once.</param>
    /// <param name="carried">Figures a copy carries over from the message it replaces.</param>
    public static Message ToAmqp(QueueMessage message, JobPriority priority, DateTimeOffset? scheduledAt, CarriedFigures carried = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var amqp = new Message
        {
            BodySection = new Data { Binary = JsonSerializer.SerializeToUtf8Bytes(new JobBody(message.JobId), BodyContext.Default.JobBody) },
            Header = new Header { Durable = true, Priority = ToHeaderPriority(priority) },
            Properties = new Properties { MessageId = message.MessageId, ContentType = ContentType },
            ApplicationProperties = new ApplicationProperties(),
        };
        var properties = amqp.ApplicationProperties.Map;
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
            properties[FirstEnqueuedProperty] = first.UtcDateTime;
        }

        if (scheduledAt is { } at)
        {
            amqp.MessageAnnotations = new MessageAnnotations();
            amqp.MessageAnnotations[ScheduledEnqueueTime] = at.UtcDateTime;
        }

        return amqp;
    }

    /// <summary>Reads a received AMQP message; false when it is not a MediaGen job message.</summary>
    public static bool TryRead(Message amqp, [NotNullWhen(true)] out ReceivedFigures? figures, [NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(amqp);
        figures = null;
        if (!TryReadJobId(amqp.BodySection, out var jobId, out problem))
        {
            return false;
        }

        var properties = amqp.ApplicationProperties?.Map;
        Dictionary<string, string>? headers = null;
        var priority = FromHeaderPriority(amqp.Header?.Priority ?? 4);
        var priorDeliveries = 0;
        var copy = 0;
        DateTimeOffset? firstEnqueued = null;
        if (properties is not null)
        {
            foreach (var key in properties.Keys)
            {
                var name = key as string ?? key?.ToString();
                if (name is null)
                {
                    continue;
                }

                var value = properties[key];
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
                    case FirstEnqueuedProperty when value is DateTime t:
                        firstEnqueued = ToOffset(t);
                        break;
                    default:
                        if (!Reserved.Contains(name))
                        {
                            (headers ??= new Dictionary<string, string>(StringComparer.Ordinal))[name] = Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;
                        }

                        break;
                }
            }
        }

        var messageId = amqp.Properties?.MessageId ?? jobId;
        figures = new ReceivedFigures
        {
            Message = new QueueMessage(jobId) { MessageId = messageId, Headers = headers },
            Priority = priority,
            LockToken = ReadLockToken(amqp),
            HeaderDeliveryCount = (int)Math.Min(int.MaxValue, amqp.Header?.DeliveryCount ?? 0),
            Carried = new CarriedFigures(priorDeliveries, copy, firstEnqueued),
            BrokerEnqueuedAt = ReadTime(amqp, EnqueuedTime),
            LockedUntil = ReadTime(amqp, LockedUntil),
            SequenceNumber = amqp.MessageAnnotations?[SequenceNumber] is long sequence ? sequence : null,
            DeadLetterReason = properties?[DeadLetterReasonProperty] as string,
            DeadLetterDescription = properties?[DeadLetterDescriptionProperty] as string,
        };
        return true;
    }

    /// <summary>The lock token: a 16-byte delivery tag, as Service Bus sends, or else the <c>x-opt-lock-token</c> annotation.</summary>
    public static Guid? ReadLockToken(Message amqp)
    {
        if (amqp.DeliveryTag is { Length: 16 } tag)
        {
            return new Guid(tag);
        }

        return amqp.MessageAnnotations?[LockToken] switch
        {
            Guid g => g,
            byte[] { Length: 16 } bytes => new Guid(bytes),
            string s when Guid.TryParse(s, out var parsed) => parsed,
            _ => null,
        };
    }

    /// <summary>The Rejected error Service Bus reads as "move to the dead-letter subqueue".</summary>
    public static Error DeadLetterError(string reason, string? description)
    {
        var info = new Fields { [new Symbol(DeadLetterReasonProperty)] = reason };
        if (description is not null)
        {
            info[new Symbol(DeadLetterDescriptionProperty)] = description;
        }

        return new Error(DeadLetterCondition) { Description = description ?? reason, Info = info };
    }

    public static byte ToHeaderPriority(JobPriority priority) => priority switch
    {
        JobPriority.High => 7,
        JobPriority.Low => 1,
        _ => 4,
    };

    public static JobPriority FromHeaderPriority(byte priority) => priority switch
    {
        >= 6 => JobPriority.High,
        <= 2 => JobPriority.Low,
        _ => JobPriority.Normal,
    };

    private static bool TryReadJobId(RestrictedDescribed? body, [NotNullWhen(true)] out string? jobId, [NotNullWhen(false)] out string? problem)
    {
        jobId = null;
        if (body is not Data { Binary: { Length: > 0 } bytes })
        {
            problem = "The message body is not a data section with a MediaGen job message.";
            return false;
        }

        try
        {
            var parsed = JsonSerializer.Deserialize(bytes, BodyContext.Default.JobBody);
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

    private static DateTimeOffset? ReadTime(Message amqp, Symbol annotation) =>
        amqp.MessageAnnotations?[annotation] is DateTime t ? ToOffset(t) : null;

    private static DateTimeOffset ToOffset(DateTime t) =>
        new(t.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : t.ToUniversalTime());

    private static int ToInt(object? value) => value switch
    {
        int i => i,
        long l => (int)Math.Clamp(l, 0, int.MaxValue),
        uint u => (int)Math.Min(u, int.MaxValue),
        string s when int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => 0,
    };
}

/// <summary>Figures a copy of a message (a delayed retry or a resubmitted dead letter) carries from the message it replaces.</summary>
/// <param name="PriorDeliveries">Deliveries of the replaced message, so the delivery count keeps counting.</param>
/// <param name="Copy">How many copies were made before this one; the copy's message id is <c>{jobId}:{Copy}</c>.</param>
/// <param name="FirstEnqueuedAt">When the first message was enqueued.</param>
internal readonly record struct CarriedFigures(int PriorDeliveries, int Copy, DateTimeOffset? FirstEnqueuedAt);

/// <summary>What a received AMQP message says.</summary>
internal sealed record ReceivedFigures
{
    public required QueueMessage Message { get; init; }

    public required JobPriority Priority { get; init; }

    public Guid? LockToken { get; init; }

    /// <summary>The AMQP header's delivery-count: how many earlier deliveries of this broker message failed.</summary>
    public int HeaderDeliveryCount { get; init; }

    public CarriedFigures Carried { get; init; }

    /// <summary>The broker's <c>x-opt-enqueued-time</c> of this broker message.</summary>
    public DateTimeOffset? BrokerEnqueuedAt { get; init; }

    /// <summary>When the first of the copies was enqueued.</summary>
    public DateTimeOffset? EnqueuedAt => Carried.FirstEnqueuedAt ?? BrokerEnqueuedAt;

    public DateTimeOffset? LockedUntil { get; init; }

    public long? SequenceNumber { get; init; }

    public string? DeadLetterReason { get; init; }

    public string? DeadLetterDescription { get; init; }

    /// <summary>Deliveries including this one, counted across the copies that replaced each other.</summary>
    public int DeliveryCount => Carried.PriorDeliveries + HeaderDeliveryCount + 1;
}

internal sealed record JobBody(string JobId);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(JobBody))]
internal sealed partial class BodyContext : System.Text.Json.Serialization.JsonSerializerContext
{
}
