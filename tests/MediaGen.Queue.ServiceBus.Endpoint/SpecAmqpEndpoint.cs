using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Amqp;
using Amqp.Framing;
using Amqp.Listener;
using Amqp.Types;

namespace MediaGen.Queue.ServiceBus.Tests.Endpoint;

/// <summary>
/// An AMQP 1.0 test endpoint derived from Microsoft's published description of the Service Bus protocol, for the parts
/// the adapter uses, built on AMQPNetLite's <see cref="ContainerHost"/> over amqps on loopback with a self-signed
/// certificate. It is not Service Bus and not an emulator: it implements what the documentation says and nothing more.
/// </summary>
/// <remarks>
/// What it implements: SASL ANONYMOUS; <c>$cbs</c> put-token with a real shared-access-signature check (policy name,
/// HMAC-SHA256 over the URL-encoded resource and expiry, expiry against the clock), and no attach or send without a
/// valid token for the node; peek-lock with a lock duration and expiry on the given clock; the lock token as the
/// <c>x-opt-lock-token</c> annotation (ContainerHost cannot choose delivery tags, so the 16-byte delivery tag Service
/// Bus sends is not reproduced); <c>x-opt-locked-until</c>, <c>x-opt-enqueued-time</c>, <c>x-opt-sequence-number</c>;
/// delivery-count in the header; accepted, modified (delivery-failed counts), released, and rejected with
/// <c>com.microsoft:dead-letter</c> and its <c>DeadLetterReason</c> / <c>DeadLetterErrorDescription</c> into the
/// <c>$DeadLetterQueue</c> subqueue; max delivery count to the dead-letter subqueue with reason
/// <c>MaxDeliveryCountExceeded</c>; <c>com.microsoft:renew-lock</c> on <c>{queue}/$management</c> (410 when the lock is
/// lost); <c>x-opt-scheduled-enqueue-time</c>; duplicate detection by message id within a window. Beyond Service Bus it
/// orders ready messages by the AMQP header priority, which the AMQP 1.0 specification defines and Service Bus ignores.
/// A settlement of a delivery whose lock has since been taken by another delivery is ignored, as outcomes arrive
/// pre-settled. To avoid ContainerHost's attach/transfer race, a new sending link gets its first transfer no earlier
/// than 20 ms after its attach completed.
/// </remarks>
internal sealed class SpecAmqpEndpoint : IAsyncDisposable
{
    private static readonly TimeSpan NewLinkGrace = TimeSpan.FromMilliseconds(20);
    private readonly ContainerHost _host;
    private readonly Dictionary<string, SpecQueue> _queues = new(StringComparer.Ordinal);
    private readonly ConditionalWeakTable<Connection, TokenSet> _tokens = new();
    private readonly Lock _gate = new();

    public SpecAmqpEndpoint(TimeProvider time, string keyName = "RootManageSharedAccessKey", string? key = null)
    {
        Time = time;
        KeyName = keyName;
        Key = key ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        Certificate = CreateCertificate();
        Port = FreePort();
        _host = new ContainerHost([new Address($"amqps://127.0.0.1:{Port}")], Certificate);
        _host.Listeners[0].SASL.EnableAnonymousMechanism = true;
        _host.RegisterRequestProcessor("$cbs", new CbsProcessor(this));
        _host.RegisterLinkProcessor(new LinkProcessor(this));
        _host.Open();
    }

    public TimeProvider Time { get; }

    public string KeyName { get; }

    public string Key { get; }

    public X509Certificate2 Certificate { get; }

    public int Port { get; }

    public string ConnectionString => $"Endpoint=sb://127.0.0.1:{Port}/;SharedAccessKeyName={KeyName};SharedAccessKey={Key}";

    /// <summary>Put-token requests accepted and refused.</summary>
    public int TokensAccepted => Volatile.Read(ref _tokensAccepted);

    public int TokensRefused => Volatile.Read(ref _tokensRefused);

    private int _tokensAccepted;
    private int _tokensRefused;

    public bool ValidateCertificate(object sender, X509Certificate? certificate, X509Chain? chain, System.Net.Security.SslPolicyErrors errors) =>
        certificate is not null && string.Equals(certificate.GetCertHashString(), Certificate.GetCertHashString(), StringComparison.Ordinal);

    public SpecQueue CreateQueue(string name, TimeSpan lockDuration, int maxDeliveryCount = 10, TimeSpan? duplicateDetectionWindow = null)
    {
        var queue = new SpecQueue(this, name, lockDuration, maxDeliveryCount, duplicateDetectionWindow ?? TimeSpan.FromMinutes(10));
        lock (_gate)
        {
            _queues.Add(name, queue);
        }

        _host.RegisterRequestProcessor(name + "/$management", new ManagementProcessor(this, queue));
        return queue;
    }

    public ValueTask DisposeAsync()
    {
        SpecQueue[] queues;
        lock (_gate)
        {
            queues = [.. _queues.Values];
        }

        foreach (var queue in queues)
        {
            queue.Dispose();
        }

        _host.Close();
        Certificate.Dispose();
        return ValueTask.CompletedTask;
    }

    internal bool IsAuthorized(Connection connection, string address)
    {
        if (!_tokens.TryGetValue(connection, out var set))
        {
            return false;
        }

        var now = Time.GetUtcNow();
        lock (set)
        {
            return set.Tokens.Any(t => t.ExpiresAt > now && (address + "/").StartsWith(t.Path + "/", StringComparison.Ordinal));
        }
    }

    private (string Node, bool DeadLetter)? Resolve(string? address)
    {
        if (address is null)
        {
            return null;
        }

        const string dlq = "/$DeadLetterQueue";
        var deadLetter = address.EndsWith(dlq, StringComparison.Ordinal);
        var name = deadLetter ? address[..^dlq.Length] : address;
        lock (_gate)
        {
            return _queues.ContainsKey(name) ? (name, deadLetter) : null;
        }
    }

    private SpecQueue Queue(string name)
    {
        lock (_gate)
        {
            return _queues[name];
        }
    }

    /// <summary>Checks a put-token request as Service Bus documents it; returns the node path the token covers, or an error.</summary>
    private (string? Path, DateTimeOffset ExpiresAt, string? Error) CheckToken(Message request)
    {
        var properties = request.ApplicationProperties;
        if (properties?["operation"] as string != "put-token" || properties["type"] as string != "servicebus.windows.net:sastoken")
        {
            return (null, default, "operation must be put-token with type servicebus.windows.net:sastoken");
        }

        if (request.Body is not string token || !token.StartsWith("SharedAccessSignature ", StringComparison.Ordinal))
        {
            return (null, default, "the body must be a SharedAccessSignature string");
        }

        var fields = token["SharedAccessSignature ".Length..].Split('&')
            .Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        if (!fields.TryGetValue("sr", out var sr) || !fields.TryGetValue("sig", out var sig) || !fields.TryGetValue("se", out var se) || !fields.TryGetValue("skn", out var skn))
        {
            return (null, default, "the token lacks sr, sig, se or skn");
        }

        if (WebUtility.UrlDecode(skn) != KeyName)
        {
            return (null, default, "unknown policy");
        }

        var expected = Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Key), Encoding.UTF8.GetBytes(sr + "\n" + se)));
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(WebUtility.UrlDecode(sig))))
        {
            return (null, default, "signature mismatch");
        }

        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(long.Parse(se, System.Globalization.CultureInfo.InvariantCulture));
        if (expiresAt <= Time.GetUtcNow())
        {
            return (null, default, "token expired");
        }

        var resource = new Uri(WebUtility.UrlDecode(sr));
        if (properties["name"] as string != WebUtility.UrlDecode(sr))
        {
            return (null, default, "name does not match the token's resource");
        }

        return (resource.AbsolutePath.Trim('/'), expiresAt, null);
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=spec-amqp-endpoint", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.Now.AddDays(-1), DateTimeOffset.Now.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class TokenSet
    {
        public List<(string Path, DateTimeOffset ExpiresAt)> Tokens { get; } = [];
    }

    private sealed class CbsProcessor(SpecAmqpEndpoint endpoint) : IRequestProcessor
    {
        public int Credit => 100;

        public void Process(RequestContext requestContext)
        {
            var (path, expiresAt, error) = endpoint.CheckToken(requestContext.Message);
            if (path is not null)
            {
                var set = endpoint._tokens.GetValue(requestContext.Link.Session.Connection, _ => new TokenSet());
                lock (set)
                {
                    set.Tokens.Add((path, expiresAt));
                }

                Interlocked.Increment(ref endpoint._tokensAccepted);
            }
            else
            {
                Interlocked.Increment(ref endpoint._tokensRefused);
            }

            requestContext.Complete(new Message
            {
                Properties = new Properties { CorrelationId = requestContext.Message.Properties?.MessageId },
                ApplicationProperties = new ApplicationProperties
                {
                    ["status-code"] = path is not null ? 202 : 401,
                    ["status-description"] = error ?? "Accepted",
                },
            });
        }
    }

    private sealed class ManagementProcessor(SpecAmqpEndpoint endpoint, SpecQueue queue) : IRequestProcessor
    {
        public int Credit => 100;

        public void Process(RequestContext requestContext)
        {
            var request = requestContext.Message;
            int status;
            string? condition = null;
            Map body = [];
            if (!endpoint.IsAuthorized(requestContext.Link.Session.Connection, queue.Name))
            {
                status = 401;
            }
            else if (request.ApplicationProperties?["operation"] as string != "com.microsoft:renew-lock"
                || request.Body is not Map map || map["lock-tokens"] is not Guid[] tokens)
            {
                status = 400;
            }
            else
            {
                var expirations = queue.RenewLocks(tokens);
                if (expirations is null)
                {
                    status = 410;
                    condition = "com.microsoft:message-lock-lost";
                }
                else
                {
                    status = 200;
                    body["expirations"] = expirations;
                }
            }

            var response = new Message(body)
            {
                Properties = new Properties { CorrelationId = request.Properties?.MessageId },
                ApplicationProperties = new ApplicationProperties { ["statusCode"] = status, ["statusDescription"] = status.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            };
            if (condition is not null)
            {
                response.ApplicationProperties["errorCondition"] = new Symbol(condition);
            }

            requestContext.Complete(response);
        }
    }

    private sealed class LinkProcessor(SpecAmqpEndpoint endpoint) : ILinkProcessor
    {
        public void Process(AttachContext attachContext)
        {
            var attach = attachContext.Attach;
            var clientReceives = attach.Role;
            var address = clientReceives ? (attach.Source as Source)?.Address : (attach.Target as Target)?.Address;
            var resolved = endpoint.Resolve(address);
            if (resolved is not { } node)
            {
                attachContext.Complete(new Error(ErrorCode.NotFound) { Description = $"No entity at '{address}'." });
                return;
            }

            if (!endpoint.IsAuthorized(attachContext.Link.Session.Connection, address!))
            {
                attachContext.Complete(new Error(ErrorCode.UnauthorizedAccess) { Description = $"No valid token for '{address}' was put to $cbs." });
                return;
            }

            var queue = endpoint.Queue(node.Node);
            if (clientReceives)
            {
                var outgoing = new OutgoingEndpoint(queue, attachContext.Link, node.DeadLetter);
                attachContext.Complete(outgoing, 0);
                outgoing.Attached(Environment.TickCount64 + (long)NewLinkGrace.TotalMilliseconds);
            }
            else if (node.DeadLetter)
            {
                attachContext.Complete(new Error(ErrorCode.NotAllowed) { Description = "Sending to the dead-letter subqueue is not allowed." });
            }
            else
            {
                attachContext.Complete(new IncomingEndpoint(endpoint, queue), 100);
            }
        }
    }

    private sealed class IncomingEndpoint(SpecAmqpEndpoint endpoint, SpecQueue queue) : LinkEndpoint
    {
        public override void OnMessage(MessageContext messageContext)
        {
            if (!endpoint.IsAuthorized(messageContext.Link.Session.Connection, queue.Name))
            {
                messageContext.Complete(new Error(ErrorCode.UnauthorizedAccess) { Description = "The token for this entity expired." });
                return;
            }

            queue.Enqueue(messageContext.Message);
            messageContext.Complete();
        }

        public override void OnFlow(FlowContext flowContext)
        {
        }

        public override void OnDisposition(DispositionContext dispositionContext)
        {
        }
    }

    internal sealed class OutgoingEndpoint(SpecQueue queue, ListenerLink link, bool deadLetter) : LinkEndpoint
    {
        private long _readyAt = long.MaxValue;

        public ListenerLink Link { get; } = link;

        public bool DeadLetter { get; } = deadLetter;

        /// <summary>Credit the client gave that no transfer has used yet. Guarded by the queue's lock.</summary>
        public int Credit { get; set; }

        public bool Closed { get; set; }

        public long ReadyAt => Volatile.Read(ref _readyAt);

        public void Attached(long readyAt)
        {
            Volatile.Write(ref _readyAt, readyAt);
            Link.AddClosedCallback((_, _) =>
            {
                Closed = true;
                queue.RemoveLink(this);
            });
            queue.AddLink(this);
        }

        public override void OnMessage(MessageContext messageContext)
        {
        }

        public override void OnFlow(FlowContext flowContext) => queue.AddCredit(this, flowContext.Messages);

        public override void OnDisposition(DispositionContext dispositionContext)
        {
            // Deliveries still unsettled when the link closes are reported here as released: their locks end with the link.
            queue.Settle(dispositionContext.Message, dispositionContext.DeliveryState);

            dispositionContext.Complete();
        }

        public override void OnLinkClosed(ListenerLink link, Error error)
        {
            queue.RemoveLink(this);
        }
    }
}
