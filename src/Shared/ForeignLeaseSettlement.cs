using Microsoft.Extensions.Logging;

namespace MediaGen.Shared;

/// <summary>
/// Settles, after a backend's own atomic step, the lease of a message that came from another queue (a Service Bus
/// message beside a Redis or PostgreSQL store): the step stands whatever happens to the lease.
/// </summary>
internal static class ForeignLeaseSettlement
{
    /// <summary>
    /// Applies <paramref name="settlement"/>; a lost lease or a fault of the other queue is logged through
    /// <paramref name="failed"/>, not thrown: the message comes back and finds the job as the step left it.
    /// </summary>
    public static async ValueTask ApplyAsync(LeaseSettlement settlement, ILogger logger, string jobId, Action<ILogger, string, Exception> failed)
    {
        try
        {
            await settlement.ApplyAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            failed(logger, jobId, e);
        }
    }
}
