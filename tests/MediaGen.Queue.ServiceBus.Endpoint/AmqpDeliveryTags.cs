using System.Reflection;

namespace MediaGen.Queue.ServiceBus.Endpoint;

/// <summary>
/// Sends a transfer with a chosen delivery tag. Service Bus uses the message's 16-byte lock token as its delivery tag,
/// and the official client settles by that tag; <see cref="ListenerLink.SendMessage(Message)"/> numbers tags itself, so
/// this does what it does (count the delivery, spend one credit, hand the delivery to the session) with the tag given,
/// through AMQPNetLite's non-public members. Checked once at start-up so a changed library fails loudly.
/// </summary>
internal static class AmqpDeliveryTags
{
    private const BindingFlags Instance = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public;
    private static readonly Assembly Library = typeof(Message).Assembly;
    private static readonly Type DeliveryType = Need(Library.GetType("Amqp.Delivery"), "Amqp.Delivery");
    private static readonly FieldInfo DeliveryCount = Need(typeof(ListenerLink).GetField("deliveryCount", Instance), "ListenerLink.deliveryCount");
    private static readonly FieldInfo Credit = Need(typeof(ListenerLink).GetField("credit", Instance), "ListenerLink.credit");
    private static readonly PropertyInfo LinkLock = Need(typeof(Link).GetProperty("ThisLock", Instance) ?? typeof(AmqpObject).GetProperty("ThisLock", Instance), "Link.ThisLock");
    private static readonly MethodInfo Increment = Need(Library.GetType("Amqp.SequenceNumber")?.GetMethod("op_Increment"), "SequenceNumber++");
    private static readonly MethodInfo SendDelivery = Need(typeof(Session).GetMethod("SendDelivery", Instance), "Session.SendDelivery");
    private static readonly PropertyInfo SessionLock = Need(typeof(Session).GetProperty("ThisLock", Instance), "Session.ThisLock");
    private static readonly PropertyInfo MessageDelivery = Need(typeof(Message).GetProperty("Delivery", Instance), "Message.Delivery");

    public static void Send(ListenerLink link, Message message, byte[] tag)
    {
        lock (LinkLock.GetValue(link)!)
        {
            DeliveryCount.SetValue(link, Increment.Invoke(null, [DeliveryCount.GetValue(link)]));
            var credit = (uint)Credit.GetValue(link)!;
            Credit.SetValue(link, credit > 0 ? credit - 1 : 0u);
        }

        var delivery = Activator.CreateInstance(DeliveryType, nonPublic: true)!;
        DeliveryType.GetField("Handle", Instance)!.SetValue(delivery, link.Handle);
        DeliveryType.GetProperty("Message", Instance)!.SetValue(delivery, message);
        DeliveryType.GetField("Buffer", Instance)!.SetValue(delivery, message.Encode());
        DeliveryType.GetField("Link", Instance)!.SetValue(delivery, link);
        DeliveryType.GetProperty("Settled", Instance)!.SetValue(delivery, link.SettleOnSend);
        DeliveryType.GetProperty("Tag", Instance)!.SetValue(delivery, tag);
        MessageDelivery.SetValue(message, delivery);

        // Held across the whole send, so the session's next-outgoing-id has counted this transfer before a flow from the
        // client is read against it. Otherwise a flow that already counts the transfer, read against the old id, computes
        // a window of 0 (the official client announces an incoming window of 2^32-1, so an id one ahead wraps to 0),
        // after which the session holds every transfer and ignores the link credit in the client's flows.
        lock (SessionLock.GetValue(link.Session)!)
        {
            try
            {
                SendDelivery.Invoke(link.Session, [delivery]);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw e.InnerException;
            }
        }
    }

    private static T Need<T>(T? member, string name)
        where T : class => member ?? throw new MissingMemberException($"AMQPNetLite has no {name}; the endpoint cannot choose delivery tags.");
}
