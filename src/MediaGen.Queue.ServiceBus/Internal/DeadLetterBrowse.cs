using Amqp;
using Amqp.Framing;

namespace MediaGen.ServiceBus.Internal;

/// <summary>
/// A look at the dead-letter queue: a short-lived receiving link takes up to N dead letters under lock, the caller reads
/// them (and may complete one), and ending the link's own session hands every other one back. A second lister running at the same
/// moment sees only what this one has not locked.
/// </summary>
internal sealed class DeadLetterBrowse
{
    private readonly Session _session;
    private readonly ReceiverLink _link;
    private readonly List<Item> _items = [];

    private DeadLetterBrowse(Session session, ReceiverLink link)
    {
        _session = session;
        _link = link;
    }

    public IReadOnlyList<Item> Items => _items;

    public static async Task<DeadLetterBrowse> OpenAsync(ServiceBusJobQueue queue, AmqpQueueConnection connection, int maxCount, CancellationToken cancellationToken)
    {
        var options = queue.Options;
        var name = "mediagen-dead-letters-" + Guid.NewGuid().ToString("N");
        var attached = AmqpTasks.AttachSignal(out var onAttached);
        var session = new Session(connection.Connection);
        var link = new ReceiverLink(
            session,
            name,
            new Attach
            {
                Source = new Source { Address = queue.Settings.DeadLetterAddress },
                Target = new Target { Address = name },
                SndSettleMode = SenderSettleMode.Unsettled,
                RcvSettleMode = ReceiverSettleMode.First,
            },
            onAttached);
        var browse = new DeadLetterBrowse(session, link);
        var arrivals = System.Threading.Channels.Channel.CreateUnbounded<Message>();
        try
        {
            await AmqpTasks.WhenAttachedAsync(link, attached, options.OperationTimeout, cancellationToken).ConfigureAwait(false);
            link.Start(0, (_, m) => arrivals.Writer.TryWrite(m));
            link.SetCredit(0, CreditMode.Manual);
            link.SetCredit(maxCount, CreditMode.Manual);

            // No count is available over AMQP: collect what arrives within a round trip, then until the flow goes quiet.
            var quiet = queue.RoundTripAllowance();
            while (browse._items.Count < maxCount)
            {
                using var window = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                window.CancelAfter(browse._items.Count == 0 ? quiet * 2 : quiet / 2);
                Message message;
                try
                {
                    message = await arrivals.Reader.ReadAsync(window.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                AmqpMessageMapping.TryRead(message, out var figures, out _);
                browse._items.Add(new Item(message, figures));
            }

            browse._items.Sort(static (a, b) =>
            {
                var byTime = Nullable.Compare(a.Figures?.BrokerEnqueuedAt, b.Figures?.BrokerEnqueuedAt);
                return byTime != 0 ? byTime : Nullable.Compare(a.Figures?.SequenceNumber, b.Figures?.SequenceNumber);
            });
            return browse;
        }
        catch (Exception e) when (e is AmqpException or TimeoutException or ObjectDisposedException)
        {
            await browse.ReleaseAllAndCloseAsync().ConfigureAwait(false);
            throw new QueueUnavailableException($"Cannot read the dead-letter queue '{queue.Settings.DeadLetterAddress}': {e.Message}", e);
        }
    }

    public void Complete(Item item)
    {
        ServiceBusJobQueue.TrySettle(_link, item.Amqp, new Accepted());
    }

    /// <summary>
    /// Ends the browse's own session, which hands back every delivery still unsettled on it (RabbitMQ requeues only when
    /// the session ends, not when a link detaches). Releasing them one by one instead would let the broker send them
    /// straight back on this link, which still has credit, where they would stay locked.
    /// </summary>
    public async Task ReleaseAllAndCloseAsync()
    {
        await AmqpTasks.CloseQuietlyAsync(_link).ConfigureAwait(false);
        await AmqpTasks.CloseQuietlyAsync(_session).ConfigureAwait(false);
    }

    /// <summary>One dead letter as received.</summary>
    internal sealed record Item(Message Amqp, ReceivedFigures? Figures)
    {
        public DeadLetterMessage ToDeadLetter(DateTimeOffset now)
        {
            var message = Figures?.Message ?? new QueueMessage(Amqp.Properties?.MessageId is { Length: > 0 } id ? id : "(unreadable)");
            var reason = Figures?.DeadLetterReason ?? (Figures is null ? MediaGenErrorCodes.MalformedMessage : "unknown");
            var deliveryCount = Figures is null ? 0 : Figures.Carried.PriorDeliveries + Figures.HeaderDeliveryCount;
            return new DeadLetterMessage(message, reason, Figures?.DeadLetterDescription, deliveryCount, Figures?.BrokerEnqueuedAt ?? now);
        }
    }
}
