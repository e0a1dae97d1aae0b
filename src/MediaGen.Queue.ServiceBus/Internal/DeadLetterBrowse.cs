using Amqp;
using Amqp.Framing;

namespace MediaGen.ServiceBus.Internal;

/// <summary>
/// A look at the dead-letter queue: a short-lived receiving link takes up to N dead letters under lock, the caller reads
/// them (and may complete one), and every other one is released and the link closed. A second lister running at the
/// same moment sees only what this one has not locked.
/// </summary>
internal sealed class DeadLetterBrowse
{
    private readonly ReceiverLink _link;
    private readonly List<Item> _items = [];
    private readonly HashSet<Item> _settled = [];

    private DeadLetterBrowse(ReceiverLink link) => _link = link;

    public IReadOnlyList<Item> Items => _items;

    public static async Task<DeadLetterBrowse> OpenAsync(ServiceBusJobQueue queue, AmqpQueueConnection connection, int maxCount, CancellationToken cancellationToken)
    {
        var options = queue.Options;
        var name = "mediagen-dead-letters-" + Guid.NewGuid().ToString("N");
        var attached = AmqpTasks.AttachSignal(out var onAttached);
        var link = new ReceiverLink(
            connection.Session,
            name,
            new Attach
            {
                Source = new Source { Address = queue.Settings.DeadLetterAddress },
                Target = new Target { Address = name },
                SndSettleMode = SenderSettleMode.Unsettled,
                RcvSettleMode = ReceiverSettleMode.First,
            },
            onAttached);
        var browse = new DeadLetterBrowse(link);
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

            // Anything still in flight after the window is released with the rest.
            while (arrivals.Reader.TryRead(out var late))
            {
                ServiceBusJobQueue.TrySettle(link, late, new Released());
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
        _settled.Add(item);
    }

    public async Task ReleaseAllAndCloseAsync()
    {
        foreach (var item in _items)
        {
            if (_settled.Add(item))
            {
                ServiceBusJobQueue.TrySettle(_link, item.Amqp, new Released());
            }
        }

        await AmqpTasks.CloseQuietlyAsync(_link).ConfigureAwait(false);
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
