using Azure;
using Azure.Messaging.ServiceBus;

namespace MediaGen.ServiceBus.Internal;

/// <summary>Maps the Service Bus client's errors to MediaGen's: a lost lock is a lost lease, an unreachable namespace an unavailable queue.</summary>
internal static class ServiceBusErrors
{
    /// <summary>Whether <paramref name="e"/> says the message's lock was lost (expired, or the message is with another receiver).</summary>
    public static bool IsLockLost(Exception e) => e is ServiceBusException { Reason: ServiceBusFailureReason.MessageLockLost };

    /// <summary>Whether <paramref name="e"/> says the queue cannot be used now: unreachable, busy, missing, or the credential is refused.</summary>
    public static bool IsUnavailable(Exception e) =>
        e is UnauthorizedAccessException or TimeoutException or RequestFailedException or Azure.Identity.AuthenticationFailedException
        || (e is ServiceBusException sb && sb.Reason != ServiceBusFailureReason.MessageLockLost);

    /// <summary>Wraps <paramref name="e"/> in a <see cref="QueueUnavailableException"/> naming the queue and what was done.</summary>
    public static QueueUnavailableException Unavailable(string queue, string operation, Exception e) =>
        new($"Service Bus queue '{queue}' could not {operation}: {Describe(e)}", e);

    private static string Describe(Exception e) => e switch
    {
        ServiceBusException sb => $"{sb.Reason}: {sb.Message}",
        _ => $"{e.GetType().Name}: {e.Message}",
    };
}
