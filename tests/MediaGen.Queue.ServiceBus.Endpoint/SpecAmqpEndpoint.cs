using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Amqp.Sasl;

namespace MediaGen.Queue.ServiceBus.Endpoint;

/// <summary>
/// An AMQP 1.0 test endpoint derived from Microsoft's published description of the Service Bus protocol, for the parts
/// MediaGen and the official client (Azure.Messaging.ServiceBus) use, built on AMQPNetLite's <see cref="ContainerHost"/>
/// over plain AMQP on loopback. It is not Service Bus and not an emulator: it implements what the documentation says and
/// nothing more. Connect with <see cref="ConnectionString"/> (<c>UseDevelopmentEmulator=true</c>: plain AMQP, port honoured).
/// </summary>
/// <remarks>
/// What it implements: SASL <c>MSSBCBS</c> (and ANONYMOUS); <c>$cbs</c> put-token with a real shared-access-signature
/// check (policy name, HMAC-SHA256 over the URL-encoded resource and expiry, expiry against the clock), a token for the
/// namespace covering every entity, and no attach or send without a valid token; link addresses with or without a
/// leading <c>/</c> or the namespace URI; <c>max-message-size</c> on attach; peek-lock with a lock duration and expiry
/// on the given clock, the 16-byte lock token as the delivery tag; <c>x-opt-locked-until</c>, <c>x-opt-enqueued-time</c>,
/// <c>x-opt-sequence-number</c> beside the sender's own annotations; delivery-count in the header; accepted, modified
/// (delivery-failed counts; its annotations become application properties), released, and rejected with
/// <c>com.microsoft:dead-letter</c> and its <c>DeadLetterReason</c> / <c>DeadLetterErrorDescription</c> into the
/// <c>$DeadLetterQueue</c> subqueue; a settlement after the lock expired or passed to another delivery is refused with
/// <c>com.microsoft:message-lock-lost</c>; max delivery count to the dead-letter subqueue with reason
/// <c>MaxDeliveryCountExceeded</c>; on <c>$management</c>: <c>renew-lock</c>, <c>peek-message</c>,
/// <c>schedule-message</c> and <c>cancel-scheduled-message</c>; <c>x-opt-scheduled-enqueue-time</c>; batched sends
/// (message format 0x80013700); drain on receiver links; duplicate detection by message id within a window. Beyond
/// Service Bus it orders ready messages by the AMQP header priority, which Service Bus ignores. To avoid ContainerHost's
/// attach/transfer race, a new receiver link gets its first transfer no earlier than 20 ms after its attach completed.
/// </remarks>
public sealed class SpecAmqpEndpoint : IAsyncDisposable
{
    /// <summary>The largest message the endpoint accepts, announced on attach (Service Bus Standard's 256 KB).</summary>
    public const ulong MaxMessageSize = 256 * 1024;

    private static readonly TimeSpan NewLinkGrace = TimeSpan.FromMilliseconds(20);
    private readonly ContainerHost _host;
    private readonly Dictionary<string, SpecQueue> _queues = new(StringComparer.Ordinal);
    private readonly ConditionalWeakTable<Connection, TokenSet> _tokens = new();
    private readonly Lock _gate = new();
    private int _tokensAccepted;
    private int _tokensRefused;

    /// <summary>Starts the endpoint on 127.0.0.1.</summary>
    /// <param name="time">The clock of locks, schedules and tokens. A fake clock must start at the real time: the client runs on the wall clock.</param>
    /// <param name="keyName">The shared access policy name.</param>
    /// <param name="key">The policy key; null for a random one.</param>
    /// <param name="port">The port; 0 for a free one.</param>
    public SpecAmqpEndpoint(TimeProvider time, string keyName = "RootManageSharedAccessKey", string? key = null, int port = 0)
    {
        Time = time;
        KeyName = keyName;
        Key = key ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        Port = port == 0 ? MediaGen.TestSupport.FreePort.Next() : port;
        _host = new ContainerHost([new Address($"amqp://127.0.0.1:{Port}")]);
        _host.Listeners[0].SASL.EnableAnonymousMechanism = true;
        _host.Listeners[0].SASL.EnableMechanism(new Symbol("MSSBCBS"), new CbsSaslProfile());
        _host.RegisterRequestProcessor("$cbs", new CbsProcessor(this));
        _host.RegisterLinkProcessor(new LinkProcessor(this));
        _host.Open();
    }

    /// <summary>The endpoint's clock.</summary>
    public TimeProvider Time { get; }

    /// <summary>The shared access policy name.</summary>
    public string KeyName { get; }

    /// <summary>The shared access policy key.</summary>
    public string Key { get; }

    /// <summary>The port it listens on.</summary>
    public int Port { get; }

    /// <summary>A connection string for the official client.</summary>
    public string ConnectionString => $"Endpoint=sb://127.0.0.1:{Port};SharedAccessKeyName={KeyName};SharedAccessKey={Key};UseDevelopmentEmulator=true";

    /// <summary>Put-token requests accepted.</summary>
    public int TokensAccepted => Volatile.Read(ref _tokensAccepted);

    /// <summary>Put-token requests refused.</summary>
    public int TokensRefused => Volatile.Read(ref _tokensRefused);

    /// <summary>Creates a queue.</summary>
    /// <param name="name">Its name.</param>
    /// <param name="lockDuration">Its lock duration.</param>
    /// <param name="maxDeliveryCount">Deliveries after which a message is dead-lettered.</param>
    /// <param name="duplicateDetectionWindow">The duplicate detection window; null for 10 minutes.</param>
    /// <returns>The queue.</returns>
    public SpecQueue CreateQueue(string name, TimeSpan lockDuration, int maxDeliveryCount = 10, TimeSpan? duplicateDetectionWindow = null)
    {
        var queue = new SpecQueue(this, name, lockDuration, maxDeliveryCount, duplicateDetectionWindow ?? TimeSpan.FromMinutes(10));
        lock (_gate)
        {
            _queues.Add(name, queue);
        }

        _host.RegisterRequestProcessor(name + "/$management", new ManagementProcessor(this, queue, deadLetter: false));
        _host.RegisterRequestProcessor(name + "/$DeadLetterQueue/$management", new ManagementProcessor(this, queue, deadLetter: true));
        return queue;
    }

    /// <summary>Stops the endpoint.</summary>
    /// <returns>A completed task.</returns>
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
            var path = EntityPath(address);
            return set.Tokens.Any(t => t.ExpiresAt > now && (t.Path.Length == 0 || (path + "/").StartsWith(t.Path + "/", StringComparison.Ordinal)));
        }
    }

    /// <summary>An address as an entity path: without the namespace URI and without a leading or trailing <c>/</c>.</summary>
    internal static string EntityPath(string address)
    {
        if (Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Scheme is "amqp" or "amqps" or "sb")
        {
            address = Uri.UnescapeDataString(uri.AbsolutePath);
        }

        return address.Trim('/');
    }

    private (string Node, bool DeadLetter)? Resolve(string? address)
    {
        if (address is null)
        {
            return null;
        }

        address = EntityPath(address);
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

        // A token for the namespace (empty path) covers every entity; one for an entity covers it and its subqueues.
        var resource = EntityPath(WebUtility.UrlDecode(sr));
        var name = properties["name"] as string is { } n ? EntityPath(n) : null;
        if (name is null || (resource.Length > 0 && name != resource && !name.StartsWith(resource + "/", StringComparison.Ordinal)))
        {
            return (null, default, "the name is not under the token's resource");
        }

        return (resource, expiresAt, null);
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

    private sealed class ManagementProcessor(SpecAmqpEndpoint endpoint, SpecQueue queue, bool deadLetter) : IRequestProcessor
    {
        public int Credit => 100;

        public void Process(RequestContext requestContext)
        {
            var request = requestContext.Message;
            int status;
            string? condition = null;
            Map body = [];
            var operation = request.ApplicationProperties?["operation"] as string;
            var map = request.Body as Map;
            if (!endpoint.IsAuthorized(requestContext.Link.Session.Connection, queue.Name))
            {
                status = 401;
            }
            else if (map is null)
            {
                status = 400;
            }
            else
            {
                switch (operation)
                {
                    case "com.microsoft:renew-lock" when map["lock-tokens"] is Guid[] tokens:
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

                        break;
                    case "com.microsoft:peek-message":
                        var from = map["from-sequence-number"] is long f ? f : 0;
                        var count = map["message-count"] is int c ? c : 1;
                        var peeked = queue.Peek(deadLetter, from, count);
                        status = peeked.Count > 0 ? 200 : 204;
                        var messages = new List();
                        foreach (var message in peeked)
                        {
                            var encoded = message.Encode();
                            messages.Add(new Map { ["message"] = encoded.Buffer.AsSpan(encoded.Offset, encoded.Length).ToArray() });
                        }

                        body["messages"] = messages;
                        break;
                    case "com.microsoft:schedule-message" when !deadLetter && map["messages"] is List toSchedule:
                        var numbers = new List<long>();
                        foreach (var item in toSchedule)
                        {
                            if (item is Map entry && entry["message"] is byte[] encoded)
                            {
                                numbers.Add(queue.Enqueue(Message.Decode(new ByteBuffer(encoded, 0, encoded.Length, encoded.Length))) ?? -1);
                            }
                        }

                        status = 200;
                        body["sequence-numbers"] = numbers.ToArray();
                        break;
                    case "com.microsoft:cancel-scheduled-message" when !deadLetter && map["sequence-numbers"] is long[] toCancel:
                        queue.CancelScheduled(toCancel);
                        status = 200;
                        break;
                    default:
                        status = 400;
                        break;
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

    /// <summary>SASL <c>MSSBCBS</c>: the client authenticates later, by putting tokens to <c>$cbs</c>; the handshake itself always succeeds.</summary>
    private sealed class CbsSaslProfile() : SaslProfile(new Symbol("MSSBCBS"))
    {
        protected override ITransport UpgradeTransport(ITransport transport) => transport;

        protected override DescribedList GetStartCommand(string hostname) => null!;

        protected override DescribedList OnCommand(DescribedList command) => new SaslOutcome { Code = SaslCode.Ok };
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

            attach.MaxMessageSize = MaxMessageSize;
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
        /// <summary>The message format of a batch: each data section of the body is one encoded message.</summary>
        private const uint BatchFormat = 0x80013700;

        public override void OnMessage(MessageContext messageContext)
        {
            if (!endpoint.IsAuthorized(messageContext.Link.Session.Connection, queue.Name))
            {
                messageContext.Complete(new Error(ErrorCode.UnauthorizedAccess) { Description = "The token for this entity expired." });
                return;
            }

            var message = messageContext.Message;
            if (message.Format == BatchFormat)
            {
                foreach (var encoded in BatchParts(message))
                {
                    queue.Enqueue(Message.Decode(new ByteBuffer(encoded, 0, encoded.Length, encoded.Length)));
                }
            }
            else
            {
                queue.Enqueue(message);
            }

            messageContext.Complete();
        }

        public override void OnFlow(FlowContext flowContext)
        {
        }

        public override void OnDisposition(DispositionContext dispositionContext)
        {
        }

        private static IEnumerable<byte[]> BatchParts(Message message) => message.BodySection switch
        {
            Data data => [data.Binary],
            DataList list => Enumerable.Range(0, list.Count).Select(i => list[i].Binary),
            _ => [],
        };
    }

    /// <summary>A receiver link of the client: the queue sends it transfers as it gives credit.</summary>
    public sealed class OutgoingEndpoint(SpecQueue queue, ListenerLink link, bool deadLetter) : LinkEndpoint
    {
        private long _readyAt = long.MaxValue;

        /// <summary>The link.</summary>
        public ListenerLink Link { get; } = link;

        /// <summary>Whether it reads the dead-letter subqueue.</summary>
        public bool DeadLetter { get; } = deadLetter;

        /// <summary>Credit the client gave that no transfer has used yet. Guarded by the queue's lock.</summary>
        public int Credit { get; set; }

        /// <summary>Whether the link closed.</summary>
        public bool Closed { get; set; }

        /// <summary>The tick count before which no transfer is sent (ContainerHost's attach race).</summary>
        public long ReadyAt => Volatile.Read(ref _readyAt);

        internal void Attached(long readyAt)
        {
            Volatile.Write(ref _readyAt, readyAt);
            Link.AddClosedCallback((_, _) =>
            {
                Closed = true;
                queue.RemoveLink(this);
            });
            queue.AddLink(this);
        }

        /// <inheritdoc />
        public override void OnMessage(MessageContext messageContext)
        {
        }

        /// <inheritdoc />
        public override void OnFlow(FlowContext flowContext) => queue.AddCredit(this, flowContext.Messages);

        /// <inheritdoc />
        public override void OnDisposition(DispositionContext dispositionContext)
        {
            // Deliveries still unsettled when the link closes are reported here as released: their locks end with the link.
            if (queue.Settle(dispositionContext.Message, dispositionContext.DeliveryState))
            {
                dispositionContext.Complete();
            }
            else
            {
                dispositionContext.Complete(new Error(new Symbol("com.microsoft:message-lock-lost"))
                {
                    Description = "The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.",
                });
            }
        }

        /// <inheritdoc />
        public override void OnLinkClosed(ListenerLink link, Error error)
        {
            queue.RemoveLink(this);
        }
    }
}
