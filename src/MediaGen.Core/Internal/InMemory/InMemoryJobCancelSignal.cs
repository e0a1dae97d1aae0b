namespace MediaGen.Internal;

/// <summary>
/// The in-memory <see cref="IJobCancelSignal"/>: a publish calls this process's subscribers at once, on the publisher's
/// thread. Other processes are not reached; they apply a cancel at their next lease renewal.
/// </summary>
internal sealed class InMemoryJobCancelSignal : IJobCancelSignal
{
    private Subscription[] _subscriptions = [];

    public ValueTask PublishAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        cancellationToken.ThrowIfCancellationRequested();
        foreach (var subscription in Volatile.Read(ref _subscriptions))
        {
            subscription.OnCancel(jobId);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<IAsyncDisposable> SubscribeAsync(Action<string> onCancel, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(onCancel);
        cancellationToken.ThrowIfCancellationRequested();
        var subscription = new Subscription(this, onCancel);
        Update(list => [.. list, subscription]);
        return ValueTask.FromResult<IAsyncDisposable>(subscription);
    }

    private void Update(Func<Subscription[], Subscription[]> change)
    {
        var current = Volatile.Read(ref _subscriptions);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref _subscriptions, change(current), current);
            if (ReferenceEquals(seen, current))
            {
                return;
            }

            current = seen;
        }
    }

    private sealed class Subscription(InMemoryJobCancelSignal signal, Action<string> onCancel) : IAsyncDisposable
    {
        public Action<string> OnCancel { get; } = onCancel;

        public ValueTask DisposeAsync()
        {
            signal.Update(list => Array.FindAll(list, s => !ReferenceEquals(s, this)));
            return ValueTask.CompletedTask;
        }
    }
}
