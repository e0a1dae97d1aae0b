using Amqp;
using Amqp.Framing;
using Amqp.Types;
using MediaGen.ServiceBus.Internal;

namespace MediaGen.Queue.ServiceBus.Tests;

/// <summary>Unit tests of the wire formats: SAS tokens, message and outcome mapping, management requests.</summary>
public sealed class AmqpProtocolTests
{
    [Fact]
    public void Create_FixedInputs_ProducesTheDocumentedTokenString()
    {
        var token = SharedAccessSignature.Create("sb://ns.servicebus.windows.net/queue", "RootManageSharedAccessKey", "secret-key", DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));

        // Signature computed independently: Base64(HMAC-SHA256("secret-key", "sb%3A%2F%2Fns.servicebus.windows.net%2Fqueue\n1700000000")).
        Assert.Equal(
            "SharedAccessSignature sr=sb%3A%2F%2Fns.servicebus.windows.net%2Fqueue&sig=kpPzbqTUWajSMmXicABhshiT2ojs6GMruxs7vzXkhwA%3D&se=1700000000&skn=RootManageSharedAccessKey",
            token);
    }

    [Fact]
    public void Resolve_ServiceBusConnectionString_ReadsNamespaceKeyAndDefaults()
    {
        var settings = AmqpBrokerSettings.Resolve(new ServiceBusQueueOptions
        {
            ConnectionString = "Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=send-listen;SharedAccessKey=abc=",
            QueueName = "jobs",
        });

        Assert.Equal("contoso.servicebus.windows.net", settings.Host);
        Assert.Equal(5671, settings.Port);
        Assert.True(settings.UseTls);
        Assert.Null(settings.User);
        Assert.Equal("send-listen", settings.SasKeyName);
        Assert.Equal("abc=", settings.SasKey);
        Assert.Equal("jobs", settings.QueueAddress);
        Assert.Equal("jobs/$DeadLetterQueue", settings.DeadLetterAddress);
        Assert.Equal("jobs/$management", settings.ManagementAddress);
        Assert.Equal(AmqpAbandonOutcome.Modified, settings.Abandon);
        Assert.Equal(AmqpDelayedAbandon.ScheduledCopy, settings.DelayedAbandon);
        Assert.True(settings.ClaimsBasedSecurity);
        Assert.Equal("sb://contoso.servicebus.windows.net/jobs", settings.AudienceFor(settings.QueueAddress));
    }

    [Fact]
    public void Resolve_RabbitMqUri_UsesPlainSaslAmqQueueAddressesAndReleased()
    {
        var settings = AmqpBrokerSettings.Resolve(new ServiceBusQueueOptions
        {
            ConnectionString = "amqp://guest:gu%40st@127.0.0.1:5679",
            QueueName = "jobs",
            Broker = AmqpBrokerProfile.RabbitMQ,
        });

        Assert.False(settings.UseTls);
        Assert.Equal(5679, settings.Port);
        Assert.Equal("guest", settings.User);
        Assert.Equal("gu@st", settings.Password);
        Assert.Equal("/amq/queue/jobs", settings.QueueAddress);
        Assert.Equal("/amq/queue/jobs.dead-letter", settings.DeadLetterAddress);
        Assert.Null(settings.ManagementAddress);
        Assert.Equal(AmqpAbandonOutcome.Released, settings.Abandon);
        Assert.Equal(AmqpDelayedAbandon.HoldThenRelease, settings.DelayedAbandon);
        Assert.False(settings.ClaimsBasedSecurity);
    }

    [Fact]
    public void Resolve_ServiceBusWithoutKey_ThrowsSayingWhatToSet()
    {
        var e = Assert.Throws<InvalidOperationException>(() => AmqpBrokerSettings.Resolve(new ServiceBusQueueOptions { FullyQualifiedNamespace = "contoso.servicebus.windows.net" }));

        Assert.Contains("SharedAccessKeyName", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToAmqp_MessageWithHeadersAndSchedule_MapsIdPropertiesPriorityAndScheduledTime()
    {
        var at = new DateTimeOffset(2026, 1, 1, 0, 0, 10, TimeSpan.Zero);
        var amqp = AmqpMessageMapping.ToAmqp(
            new QueueMessage("job-1") { MessageId = "job-1:2", Headers = new Dictionary<string, string> { ["traceparent"] = "00-abc-def-01" } },
            JobPriority.High,
            at,
            new CarriedFigures(3, 2, null));

        Assert.Equal("job-1:2", amqp.Properties.MessageId);
        Assert.Equal("application/json", amqp.Properties.ContentType.ToString());
        Assert.Equal("{\"jobId\":\"job-1\"}", System.Text.Encoding.UTF8.GetString(((Data)amqp.BodySection).Binary));
        Assert.Equal("00-abc-def-01", amqp.ApplicationProperties["traceparent"]);
        Assert.Equal(7, amqp.Header.Priority);
        Assert.Equal(at.UtcDateTime, amqp.MessageAnnotations[new Symbol("x-opt-scheduled-enqueue-time")]);
        Assert.Equal(3, amqp.ApplicationProperties[AmqpMessageMapping.PriorDeliveriesProperty]);
    }

    [Fact]
    public void TryRead_ServiceBusDelivery_ReadsLockTokenCountsAndTimes()
    {
        var token = Guid.NewGuid();
        var lockedUntil = new DateTime(2026, 1, 1, 0, 0, 30, DateTimeKind.Utc);
        var enqueued = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var amqp = Roundtrip(AmqpMessageMapping.ToAmqp(new QueueMessage("job-1"), JobPriority.Low, null, new CarriedFigures(2, 1, null)));
        amqp.Header.DeliveryCount = 1;
        amqp.MessageAnnotations = new MessageAnnotations();
        amqp.MessageAnnotations[new Symbol("x-opt-lock-token")] = token;
        amqp.MessageAnnotations[new Symbol("x-opt-locked-until")] = lockedUntil;
        amqp.MessageAnnotations[new Symbol("x-opt-enqueued-time")] = enqueued;

        Assert.True(AmqpMessageMapping.TryRead(amqp, out var figures, out _));

        Assert.Equal("job-1", figures.Message.JobId);
        Assert.Equal(token, figures.LockToken);
        Assert.Equal(4, figures.DeliveryCount);
        Assert.Equal(JobPriority.Low, figures.Priority);
        Assert.Equal(new DateTimeOffset(lockedUntil), figures.LockedUntil);
        Assert.Equal(new DateTimeOffset(enqueued), figures.EnqueuedAt);
        Assert.Null(figures.Message.Headers);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"other\":1}")]
    [InlineData("")]
    public void TryRead_ForeignBody_IsMalformed(string body)
    {
        var amqp = new Message { BodySection = new Data { Binary = System.Text.Encoding.UTF8.GetBytes(body) } };

        Assert.False(AmqpMessageMapping.TryRead(amqp, out _, out var problem));
        Assert.NotEmpty(problem);
    }

    [Fact]
    public void DeadLetterError_ReasonAndDescription_UsesTheServiceBusConditionAndInfoFields()
    {
        var error = AmqpMessageMapping.DeadLetterError("attempts_exhausted", "All 3 attempts failed.");

        Assert.Equal("com.microsoft:dead-letter", error.Condition.ToString());
        Assert.Equal("attempts_exhausted", error.Info[new Symbol("DeadLetterReason")]);
        Assert.Equal("All 3 attempts failed.", error.Info[new Symbol("DeadLetterErrorDescription")]);
    }

    [Fact]
    public void RenewLock_Token_EncodesOperationLockTokensAndAssociatedLink()
    {
        var token = Guid.NewGuid();

        var request = Roundtrip(ClaimsRequests.RenewLock(token, "receiver-1"));

        Assert.Equal("com.microsoft:renew-lock", request.ApplicationProperties["operation"]);
        Assert.Equal("receiver-1", request.ApplicationProperties["associated-link-name"]);
        Assert.Equal(new[] { token }, ((Map)request.Body)["lock-tokens"]);
    }

    [Fact]
    public void ReadRenewLock_Responses_ReturnExpiryNullOnLockLostAndThrowOtherwise()
    {
        var until = new DateTime(2026, 1, 1, 0, 1, 0, DateTimeKind.Utc);
        var ok = Roundtrip(new Message(new Map { ["expirations"] = new[] { until } }) { ApplicationProperties = new ApplicationProperties { ["statusCode"] = 200 } });
        var lost = new Message { ApplicationProperties = new ApplicationProperties { ["statusCode"] = 410, ["errorCondition"] = new Symbol("com.microsoft:message-lock-lost") } };
        var failed = new Message { ApplicationProperties = new ApplicationProperties { ["statusCode"] = 500, ["statusDescription"] = "boom" } };

        Assert.Equal(new DateTimeOffset(until), ClaimsRequests.ReadRenewLock(ok));
        Assert.Null(ClaimsRequests.ReadRenewLock(lost));
        Assert.Throws<QueueUnavailableException>(() => ClaimsRequests.ReadRenewLock(failed));
    }

    [Fact]
    public void PutToken_Audience_EncodesTheCbsRequest()
    {
        var expires = new DateTimeOffset(2026, 1, 1, 1, 0, 0, TimeSpan.Zero);

        var request = Roundtrip(ClaimsRequests.PutToken("sb://ns/queue", "SharedAccessSignature sr=x", expires));

        Assert.Equal("put-token", request.ApplicationProperties["operation"]);
        Assert.Equal("servicebus.windows.net:sastoken", request.ApplicationProperties["type"]);
        Assert.Equal("sb://ns/queue", request.ApplicationProperties["name"]);
        Assert.Equal(expires.UtcDateTime, request.ApplicationProperties["expiration"]);
        Assert.Equal("SharedAccessSignature sr=x", request.Body);
    }

    private static Message Roundtrip(Message message) => Message.Decode(message.Encode());
}
