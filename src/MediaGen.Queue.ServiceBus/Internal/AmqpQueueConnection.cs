using System.Globalization;
using Amqp;
using Amqp.Framing;
using Amqp.Sasl;
using Amqp.Types;
using Microsoft.Extensions.Logging;

namespace MediaGen.ServiceBus.Internal;

/// <summary>
/// One AMQP connection to the broker and what lives on it: a session, the sending and peek-lock receiving links of the
/// queue, the management request-response pair, and, with claims-based security, the <c>$cbs</c> pair with a timer
/// that puts a fresh shared access signature for every node before the last one expires. When the connection drops,
/// everything here is dead: the queue opens a new one.
/// </summary>
internal sealed class AmqpQueueConnection
{
    private readonly AmqpBrokerSettings _settings;
    private readonly ServiceBusQueueOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string[] _audiences;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ITimer? _tokenTimer;
    private AmqpRequestResponseLink? _cbs;

    private AmqpQueueConnection(AmqpBrokerSettings settings, ServiceBusQueueOptions options, TimeProvider time, ILogger logger, Connection connection, Session session)
    {
        _settings = settings;
        _options = options;
        _time = time;
        _logger = logger;
        Connection = connection;
        Session = session;
        _audiences = [settings.AudienceFor(settings.QueueAddress), settings.AudienceFor(settings.DeadLetterAddress)];
    }

    public Connection Connection { get; }

    public Session Session { get; }

    public SenderLink Sender { get; private set; } = null!;

    public ReceiverLink Receiver { get; private set; } = null!;

    public AmqpRequestResponseLink? Management { get; private set; }

    /// <summary>Completes when the connection, or a link the queue cannot work without, has closed.</summary>
    public Task Closed => _closed.Task;

    public bool IsUsable => !_closed.Task.IsCompleted && !Connection.IsClosed && !Sender.IsClosed && !Receiver.IsClosed;

    /// <summary>How long the broker took to answer the receiving link's attach, on the system clock.</summary>
    public TimeSpan AttachRoundTrip { get; private set; }

    /// <summary>How many tokens were put to <c>$cbs</c> on this connection (for diagnostics and tests).</summary>
    public int TokensPut { get; private set; }

    public static async Task<AmqpQueueConnection> OpenAsync(
        AmqpBrokerSettings settings, ServiceBusQueueOptions options, TimeProvider time, ILogger logger, MessageCallback onMessage, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory();
        if (options.RemoteCertificateValidation is { } validate)
        {
            factory.SSL.RemoteCertificateValidationCallback = validate;
        }

        if (settings.User is null)
        {
            factory.SASL.Profile = SaslProfile.Anonymous;
        }

        var address = new Address(settings.Host, settings.Port, settings.User, settings.Password, "/", settings.UseTls ? "AMQPS" : "AMQP");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.OperationTimeout);
        var connection = await factory.CreateAsync(address, timeout.Token).ConfigureAwait(false);
        var scope = new AmqpQueueConnection(settings, options, time, logger, connection, new Session(connection));
        connection.AddClosedCallback((_, error) => scope.OnClosed(error));
        try
        {
            await scope.AttachAsync(onMessage, cancellationToken).ConfigureAwait(false);
            return scope;
        }
        catch
        {
            await scope.CloseAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Puts a fresh token for every node this connection uses (no-op without claims-based security).</summary>
    public async Task PutTokensAsync(CancellationToken cancellationToken)
    {
        if (_cbs is null)
        {
            return;
        }

        var expiresAt = _time.GetUtcNow() + _options.TokenLifetime;
        foreach (var audience in _audiences)
        {
            var token = SharedAccessSignature.Create(audience, _settings.SasKeyName!, _settings.SasKey!, expiresAt);
            var response = await _cbs.RequestAsync(ClaimsRequests.PutToken(audience, token, expiresAt), _options.OperationTimeout, cancellationToken).ConfigureAwait(false);
            ClaimsRequests.ThrowIfFailed(response, audience);
            TokensPut++;
        }

        Log.TokensPut(_logger, _audiences.Length, expiresAt);
    }

    /// <summary>Sends the close and returns at once.</summary>
    public void CloseWithoutWaiting()
    {
        _tokenTimer?.Dispose();
        _closed.TrySetResult();
        try
        {
            Connection.Close(TimeSpan.Zero, null);
        }
        catch (Exception e) when (e is AmqpException or ObjectDisposedException or InvalidOperationException or IOException)
        {
            // Closing is best effort: the peer may already be gone.
        }
    }

    public async Task CloseAsync()
    {
        _tokenTimer?.Dispose();
        _closed.TrySetResult();
        await AmqpTasks.CloseQuietlyAsync(Connection).ConfigureAwait(false);
    }

    private async Task AttachAsync(MessageCallback onMessage, CancellationToken cancellationToken)
    {
        var timeout = _options.OperationTimeout;
        if (_settings.ClaimsBasedSecurity)
        {
            _cbs = await AmqpRequestResponseLink.AttachAsync(Session, "$cbs", timeout, cancellationToken).ConfigureAwait(false);
            await PutTokensAsync(cancellationToken).ConfigureAwait(false);
            var refresh = _options.TokenLifetime * 4 / 5;
            _tokenTimer = _time.CreateTimer(static s => _ = ((AmqpQueueConnection)s!).RefreshTokensAsync(), this, refresh, refresh);
        }

        var id = Guid.NewGuid().ToString("N");
        var senderAttached = AmqpTasks.AttachSignal(out var onSenderAttached);
        Sender = new SenderLink(Session, $"mediagen-send-{id}", new Attach { Source = new Source { Address = "mediagen-send-" + id }, Target = new Target { Address = _settings.QueueAddress } }, onSenderAttached);
        Sender.AddClosedCallback((_, error) => OnClosed(error));
        await AmqpTasks.WhenAttachedAsync(Sender, senderAttached, timeout, cancellationToken).ConfigureAwait(false);

        var attachStarted = TimeProvider.System.GetTimestamp();
        var receiverAttached = AmqpTasks.AttachSignal(out var onReceiverAttached);
        Receiver = new ReceiverLink(
            Session,
            $"mediagen-receive-{id}",
            new Attach
            {
                Source = new Source { Address = _settings.QueueAddress },
                Target = new Target { Address = "mediagen-receive-" + id },
                SndSettleMode = SenderSettleMode.Unsettled,
                RcvSettleMode = ReceiverSettleMode.First,
            },
            onReceiverAttached);
        Receiver.AddClosedCallback((_, error) => OnClosed(error));
        await AmqpTasks.WhenAttachedAsync(Receiver, receiverAttached, timeout, cancellationToken).ConfigureAwait(false);
        AttachRoundTrip = TimeProvider.System.GetElapsedTime(attachStarted);

        // The callback is set with no credit; from then on credit is only ever issued by the queue, per receive, and
        // settling never restores it.
        Receiver.Start(0, onMessage);
        Receiver.SetCredit(0, CreditMode.Manual);

        if (_settings.ManagementAddress is { } management)
        {
            Management = await AmqpRequestResponseLink.AttachAsync(Session, management, timeout, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RefreshTokensAsync()
    {
        try
        {
            await PutTokensAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AmqpException or TimeoutException or OperationCanceledException or UnauthorizedAccessException or ObjectDisposedException)
        {
            // The next tick tries again while the current token is still valid; the connection drops if none succeeds.
            Log.TokenRefreshFailed(_logger, e);
        }
    }

    private void OnClosed(Error? error)
    {
        if (_closed.TrySetResult())
        {
            _tokenTimer?.Dispose();
            Log.ConnectionClosed(_logger, error?.Condition.ToString() ?? "none", error?.Description);
        }
    }
}

/// <summary>The <c>$cbs</c> put-token request and the <c>$management</c> renew-lock request, as Service Bus documents them.</summary>
internal static class ClaimsRequests
{
    public const string SasTokenType = "servicebus.windows.net:sastoken";
    public const string RenewLockOperation = "com.microsoft:renew-lock";
    public const string LockLostCondition = "com.microsoft:message-lock-lost";

    public static Message PutToken(string audience, string token, DateTimeOffset expiresAt) => new(token)
    {
        ApplicationProperties = new ApplicationProperties
        {
            ["operation"] = "put-token",
            ["type"] = SasTokenType,
            ["name"] = audience,
            ["expiration"] = expiresAt.UtcDateTime,
        },
    };

    /// <summary><c>$cbs</c> answers with <c>status-code</c> (200 or 202 on success).</summary>
    public static void ThrowIfFailed(Message response, string audience)
    {
        var status = StatusCode(response, "status-code");
        if (status is 200 or 202)
        {
            return;
        }

        var description = response.ApplicationProperties?["status-description"] as string;
        throw new UnauthorizedAccessException(string.Create(
            CultureInfo.InvariantCulture,
            $"The broker refused the shared access signature for '{audience}' with status {status}: {description}. Check SharedAccessKeyName and SharedAccessKey, and that the policy has Listen and Send rights on the queue."));
    }

    public static Message RenewLock(Guid lockToken, string? associatedLinkName)
    {
        var request = new Message(new Map { ["lock-tokens"] = new[] { lockToken } })
        {
            ApplicationProperties = new ApplicationProperties { ["operation"] = RenewLockOperation },
        };
        if (associatedLinkName is not null)
        {
            request.ApplicationProperties["associated-link-name"] = associatedLinkName;
        }

        return request;
    }

    /// <summary>Reads a renew-lock response: the new expiry, or null when the lock was lost; throws on any other failure.</summary>
    public static DateTimeOffset? ReadRenewLock(Message response)
    {
        var status = StatusCode(response, "statusCode");
        if (status == 200 && response.Body is Map body && body["expirations"] is DateTime[] { Length: > 0 } expirations)
        {
            var t = expirations[0];
            return new DateTimeOffset(t.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : t.ToUniversalTime());
        }

        var condition = response.ApplicationProperties?["errorCondition"]?.ToString();
        if (status == 410 || string.Equals(condition, LockLostCondition, StringComparison.Ordinal))
        {
            return null;
        }

        var description = response.ApplicationProperties?["statusDescription"] as string;
        throw new QueueUnavailableException(string.Create(CultureInfo.InvariantCulture, $"The broker answered renew-lock with status {status} ({condition}): {description}"));
    }

    /// <summary>The numeric status of a response; <c>$management</c> names it <c>statusCode</c>, <c>$cbs</c> <c>status-code</c>.</summary>
    public static int StatusCode(Message response, string key) => response.ApplicationProperties?[key] switch
    {
        int i => i,
        long l => (int)l,
        uint u => (int)u,
        short s => s,
        string text when int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => -1,
    };
}
