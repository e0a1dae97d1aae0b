using System.Threading.Channels;

namespace MediaGen.Shared;

/// <summary>
/// A live job event subscription read from a channel its backend writes to; disposing it unsubscribes, once, whether or
/// not it was ever read. Reads end with <see cref="OperationCanceledException"/> when the subscription's token is canceled.
/// </summary>
internal sealed class ChannelEventSubscription(ChannelReader<JobEvent> reader, Func<ValueTask> unsubscribe, CancellationToken cancellationToken)
    : IAsyncEnumerator<JobEvent>
{
    private int _disposed;

    public JobEvent Current { get; private set; } = null!;

    public async ValueTask<bool> MoveNextAsync()
    {
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (reader.TryRead(out var jobEvent))
            {
                Current = jobEvent;
                return true;
            }
        }

        return false;
    }

    public ValueTask DisposeAsync() => Interlocked.Exchange(ref _disposed, 1) == 0 ? unsubscribe() : default;
}
