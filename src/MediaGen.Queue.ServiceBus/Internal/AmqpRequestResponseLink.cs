using System.Collections.Concurrent;
using Amqp;
using Amqp.Framing;

namespace MediaGen.ServiceBus.Internal;

/// <summary>
/// Request and response over a pair of links to one node (<c>$cbs</c>, <c>{entity}/$management</c>): requests go out
/// with a message id and a reply-to naming this pair's own receiving address, and responses are matched on their
/// correlation id. AMQPNetLite has no such helper.
/// </summary>
internal sealed class AmqpRequestResponseLink
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<Message>> _pending = new(StringComparer.Ordinal);
    private readonly SenderLink _sender;
    private readonly ReceiverLink _receiver;
    private readonly string _replyTo;
    private long _nextId;

    private AmqpRequestResponseLink(SenderLink sender, ReceiverLink receiver, string replyTo)
    {
        _sender = sender;
        _receiver = receiver;
        _replyTo = replyTo;
    }

    public bool IsClosed => _sender.IsClosed || _receiver.IsClosed;

    /// <summary>Attaches both links to <paramref name="node"/> and waits until the broker has answered both attaches.</summary>
    public static async Task<AmqpRequestResponseLink> AttachAsync(Session session, string node, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid().ToString("N");
        var replyTo = $"{node}-reply-{id}";
        var senderAttached = AmqpTasks.AttachSignal(out var onSenderAttached);
        var receiverAttached = AmqpTasks.AttachSignal(out var onReceiverAttached);
        var sender = new SenderLink(session, $"{node}-request-{id}", new Attach { Source = new Source { Address = replyTo }, Target = new Target { Address = node } }, onSenderAttached);
        var receiver = new ReceiverLink(session, $"{node}-response-{id}", new Attach { Source = new Source { Address = node }, Target = new Target { Address = replyTo } }, onReceiverAttached);
        var link = new AmqpRequestResponseLink(sender, receiver, replyTo);
        sender.AddClosedCallback((_, error) => link.FailAll(error));
        receiver.AddClosedCallback((_, error) => link.FailAll(error));
        await AmqpTasks.WhenAttachedAsync(sender, senderAttached, timeout, cancellationToken).ConfigureAwait(false);
        await AmqpTasks.WhenAttachedAsync(receiver, receiverAttached, timeout, cancellationToken).ConfigureAwait(false);
        receiver.Start(32, link.OnResponse);
        return link;
    }

    /// <summary>Sends <paramref name="request"/> and returns the response that names it, or throws on timeout or a closed link.</summary>
    public async Task<Message> RequestAsync(Message request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var messageId = "req-" + Interlocked.Increment(ref _nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        request.Properties ??= new Properties();
        request.Properties.MessageId = messageId;
        request.Properties.ReplyTo = _replyTo;
        var response = new TaskCompletionSource<Message>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[messageId] = response;
        try
        {
            await _sender.SendAsync(request, timeout).WaitAsync(cancellationToken).ConfigureAwait(false);
            return await response.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(messageId, out _);
        }
    }

    public async Task CloseAsync()
    {
        await AmqpTasks.CloseQuietlyAsync(_sender).ConfigureAwait(false);
        await AmqpTasks.CloseQuietlyAsync(_receiver).ConfigureAwait(false);
    }

    private void OnResponse(IReceiverLink receiver, Message message)
    {
        receiver.Accept(message);
        var correlationId = message.Properties?.CorrelationId ?? message.Properties?.MessageId;
        if (correlationId is not null && _pending.TryRemove(correlationId, out var waiting))
        {
            waiting.TrySetResult(message);
        }
    }

    private void FailAll(Error? error)
    {
        foreach (var key in _pending.Keys)
        {
            if (_pending.TryRemove(key, out var waiting))
            {
                waiting.TrySetException(new AmqpException(error ?? new Error(ErrorCode.DetachForced) { Description = "The link closed." }));
            }
        }
    }
}

/// <summary>Small awaitable helpers over AMQPNetLite's callback style.</summary>
internal static class AmqpTasks
{
    /// <summary>A task that completes when the broker answers an attach, and fails when the answer refuses it (no terminus on its side).</summary>
    public static Task AttachSignal(out OnAttached onAttached)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        onAttached = (link, attach) =>
        {
            // A refusal leaves the broker's terminus out: the source for a receiving link, the target for a sending one
            // (RabbitMQ, for one, leaves out the other terminus on success).
            if (link is ReceiverLink ? attach.Source is null : attach.Target is null)
            {
                signal.TrySetException(new AmqpException(link.Error ?? new Error(ErrorCode.NotFound) { Description = "The broker refused to attach the link." }));
            }
            else
            {
                signal.TrySetResult();
            }
        };
        return signal.Task;
    }

    /// <summary>Waits for a link's attach reply; fails when the link closes first (the broker refused the attach).</summary>
    public static async Task WhenAttachedAsync(Link link, Task attached, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        link.AddClosedCallback((_, error) => closed.TrySetException(new AmqpException(error ?? new Error(ErrorCode.DetachForced) { Description = "The link closed while attaching." })));
        var first = await Task.WhenAny(attached, closed.Task).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        await first.ConfigureAwait(false);
        if (link.IsClosed)
        {
            throw new AmqpException(link.Error ?? new Error(ErrorCode.DetachForced) { Description = "The broker refused the link." });
        }
    }

    public static async Task CloseQuietlyAsync(AmqpObject amqpObject)
    {
        if (amqpObject.IsClosed)
        {
            return;
        }

        try
        {
            await amqpObject.CloseAsync(TimeSpan.FromSeconds(5), null).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AmqpException or TimeoutException or ObjectDisposedException or InvalidOperationException or IOException)
        {
            // Closing is best effort: the peer may already be gone.
        }
    }
}
