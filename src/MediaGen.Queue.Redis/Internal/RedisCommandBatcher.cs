namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// Group commit for the hot paths (enqueue, complete, the lifecycle steps, job reads, event publishes): calls made
/// while a flush is in flight are collected and sent together as one script call when it returns. An idle caller pays
/// one round trip as before; a busy process sends many operations per round trip, which cuts client and Redis CPU per
/// job and the hand-offs between the connection's reader and the thread pool.
/// </summary>
/// <typeparam name="TItem">One operation.</typeparam>
/// <typeparam name="TResult">Its result.</typeparam>
internal sealed class RedisCommandBatcher<TItem, TResult>
{
    private readonly Func<IReadOnlyList<TItem>, Task<TResult[]>> _flush;
    private readonly int _maxBatch;
    private readonly object _gate = new();
    private List<Pending> _pending = [];
    private bool _flushing;

    // Only the one flush loop touches these between its batches: the list the next batch is swapped into, and the items
    // handed to the flush (read by it only until its task completes).
    private List<Pending> _spare = [];
    private readonly List<TItem> _items = [];

    /// <summary>Creates the batcher.</summary>
    /// <param name="flush">Sends a batch in one call and returns one result per item, in order.</param>
    /// <param name="maxBatch">The most items per call.</param>
    public RedisCommandBatcher(Func<IReadOnlyList<TItem>, Task<TResult[]>> flush, int maxBatch)
    {
        _flush = flush;
        _maxBatch = maxBatch;
    }

    public Task<TResult> RunAsync(TItem item, CancellationToken cancellationToken)
    {
        var completion = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);

        // A canceled caller stops waiting; the operation itself may still be applied, as with any sent command. The
        // registration cancels the caller's own completion (no second task per call, as WaitAsync would add) and is
        // disposed when the flush hands the result over.
        var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static (state, token) => ((TaskCompletionSource<TResult>)state!).TrySetCanceled(token), completion)
            : default;
        bool start;
        lock (_gate)
        {
            _pending.Add(new Pending(item, completion, registration));
            start = !_flushing;
            _flushing = true;
        }

        if (start)
        {
            _ = FlushLoopAsync();
        }

        return completion.Task;
    }

    private async Task FlushLoopAsync()
    {
        while (true)
        {
            List<Pending> batch;
            lock (_gate)
            {
                if (_pending.Count == 0)
                {
                    _flushing = false;
                    return;
                }

                if (_pending.Count <= _maxBatch)
                {
                    // Swap in the spare list rather than a new one: a busy batcher allocates no list per call.
                    batch = _pending;
                    _pending = _spare;
                }
                else
                {
                    batch = _spare;
                    for (var i = 0; i < _maxBatch; i++)
                    {
                        batch.Add(_pending[i]);
                    }

                    _pending.RemoveRange(0, _maxBatch);
                }
            }

            try
            {
                foreach (var pending in batch)
                {
                    _items.Add(pending.Item);
                }

                var results = await _flush(_items).ConfigureAwait(false);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Registration.Dispose();
                    batch[i].Completion.TrySetResult(results[i]);
                }
            }
#pragma warning disable CA1031 // The flush's failure is every waiting caller's failure; it is handed to each of them.
            catch (Exception e)
#pragma warning restore CA1031
            {
                foreach (var pending in batch)
                {
                    pending.Registration.Dispose();
                    pending.Completion.TrySetException(e);
                }
            }
            finally
            {
                _items.Clear();
                batch.Clear();
                _spare = batch;
            }
        }
    }

    private readonly record struct Pending(TItem Item, TaskCompletionSource<TResult> Completion, CancellationTokenRegistration Registration);
}
