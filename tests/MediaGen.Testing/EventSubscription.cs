namespace MediaGen.Testing;

/// <summary>A subscription read with bounded waits; probe events are skipped.</summary>
public sealed class EventSubscription : IAsyncDisposable
{
    /// <summary>The message of the probe events that prove a subscription live; readers skip them.</summary>
    public const string ProbeMessage = "compliance-probe";

    private readonly CancellationTokenSource _cts = new();
    private readonly IAsyncEnumerator<JobEvent> _enumerator;
    private readonly Queue<JobEvent> _early = new();
    private readonly TimeSpan _timeout;
    private Task<bool>? _pending;

    internal EventSubscription(IJobEventStream stream, string jobId, TimeSpan timeout)
    {
        _timeout = timeout;
        _cts.CancelAfter(timeout * 6);
        _enumerator = stream.SubscribeAsync(jobId, _cts.Token).GetAsyncEnumerator(_cts.Token);
    }

    /// <summary>
    /// Subscribes through <paramref name="subscriber"/> and publishes probes through <paramref name="publisher"/>
    /// until one arrives, so the subscription is known to be live.
    /// </summary>
    /// <param name="subscriber">The client to subscribe on.</param>
    /// <param name="publisher">The client to publish probes on.</param>
    /// <param name="jobId">The job.</param>
    /// <param name="timeout">The longest real time to wait for a probe, and for each later event.</param>
    /// <returns>The live subscription.</returns>
    public static async Task<EventSubscription> OpenLiveAsync(IJobEventStream subscriber, IJobEventStream publisher, string jobId, TimeSpan timeout)
    {
        var subscription = new EventSubscription(subscriber, jobId, timeout);
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (DateTimeOffset.UtcNow < deadline)
        {
            await publisher.PublishAsync(new JobEvent
            {
                JobId = jobId,
                OwnerId = "compliance",
                Type = JobEventType.Progress,
                Timestamp = DateTimeOffset.UtcNow,
                Status = JobStatus.Processing,
                Message = ProbeMessage,
            });
            if (await subscription.TryReceiveProbeAsync(TimeSpan.FromMilliseconds(100)))
            {
                return subscription;
            }
        }

        await subscription.DisposeAsync();
        throw new XunitException($"No probe event reached a subscription to job {jobId} within {timeout.TotalSeconds:0} s of real time.");
    }

    /// <summary>Reads the next <paramref name="count"/> events that are not probes.</summary>
    /// <param name="count">How many.</param>
    /// <returns>The events, in the order they arrived.</returns>
    public async Task<List<JobEvent>> NextAsync(int count)
    {
        var events = new List<JobEvent>(count);
        while (events.Count < count && _early.TryDequeue(out var early))
        {
            events.Add(early);
        }

        while (events.Count < count)
        {
            if (!await MoveNextAsync(_timeout))
            {
                throw new XunitException($"The subscription ended after {events.Count} of {count} events.");
            }

            if (_enumerator.Current.Message != ProbeMessage)
            {
                events.Add(_enumerator.Current);
            }
        }

        return events;
    }

    /// <summary>Cancels the subscription's token.</summary>
    /// <returns>A task.</returns>
    public Task CancelAsync() => _cts.CancelAsync();

    /// <summary>Asserts that the enumeration ends (returns false or throws <see cref="OperationCanceledException"/>), skipping probes.</summary>
    /// <returns>A task.</returns>
    public async Task AssertEndedAsync()
    {
        try
        {
            while (await MoveNextAsync(Timeout.InfiniteTimeSpan))
            {
                Assert.Equal(ProbeMessage, _enumerator.Current.Message);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        try
        {
            if (_pending is not null)
            {
                await _pending.WaitAsync(_timeout);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (TimeoutException)
        {
            // Reported by the test that waited; disposing must not hide its failure.
        }

        try
        {
            if (_pending is null || _pending.IsCompleted)
            {
                await _enumerator.DisposeAsync();
            }
        }
        catch (OperationCanceledException)
        {
        }

        _cts.Dispose();
    }

    internal async Task<bool> TryReceiveProbeAsync(TimeSpan wait)
    {
        var deadline = DateTimeOffset.UtcNow + wait;
        while (true)
        {
            var left = deadline - DateTimeOffset.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            _pending ??= _enumerator.MoveNextAsync().AsTask();
            try
            {
                await _pending.WaitAsync(left);
            }
            catch (TimeoutException)
            {
                return false;
            }

            if (!await ConsumePendingAsync())
            {
                throw new XunitException("The subscription ended before it delivered anything.");
            }

            if (_enumerator.Current.Message == ProbeMessage)
            {
                return true;
            }

            _early.Enqueue(_enumerator.Current);
        }
    }

    private async Task<bool> MoveNextAsync(TimeSpan timeout)
    {
        _pending ??= _enumerator.MoveNextAsync().AsTask();
        try
        {
            await _pending.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new XunitException($"No event arrived within {timeout.TotalSeconds:0} s of real time.");
        }

        return await ConsumePendingAsync();
    }

    private async Task<bool> ConsumePendingAsync()
    {
        var pending = _pending!;
        _pending = null;
        return await pending;
    }
}
