using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace MediaGen.Internal;

/// <summary>
/// The in-memory <see cref="IJobEventStream"/>: each subscriber gets a bounded channel; a subscriber that falls
/// far behind loses its oldest progress events rather than slowing the worker down.
/// </summary>
internal sealed class InMemoryJobEventStream : IJobEventStream, IJobEventSubscriptions
{
    private const int SubscriberCapacity = 256;
    private readonly ConcurrentDictionary<string, Subscriber[]> _subscribers = new(StringComparer.Ordinal);

    public bool HasSubscribers(string jobId) => _subscribers.ContainsKey(jobId);

    public ValueTask PublishAsync(JobEvent jobEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobEvent);
        if (_subscribers.TryGetValue(jobEvent.JobId, out var subscribers))
        {
            foreach (var subscriber in subscribers)
            {
                subscriber.Channel.Writer.TryWrite(jobEvent);
            }
        }

        return ValueTask.CompletedTask;
    }

    public async IAsyncEnumerable<JobEvent> SubscribeAsync(string jobId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var subscriber = new Subscriber(Channel.CreateBounded<JobEvent>(new BoundedChannelOptions(SubscriberCapacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        }));
        _subscribers.AddOrUpdate(jobId, static (_, s) => [s], static (_, list, s) => [.. list, s], subscriber);
        try
        {
            while (await subscriber.Channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (subscriber.Channel.Reader.TryRead(out var jobEvent))
                {
                    yield return jobEvent;
                }
            }
        }
        finally
        {
            Remove(jobId, subscriber);
        }
    }

    private void Remove(string jobId, Subscriber subscriber)
    {
        while (_subscribers.TryGetValue(jobId, out var list))
        {
            var remaining = Array.FindAll(list, s => !ReferenceEquals(s, subscriber));
            var removed = remaining.Length == 0
                ? _subscribers.TryRemove(new KeyValuePair<string, Subscriber[]>(jobId, list))
                : _subscribers.TryUpdate(jobId, remaining, list);
            if (removed)
            {
                return;
            }
        }
    }

    private sealed record Subscriber(Channel<JobEvent> Channel);
}
