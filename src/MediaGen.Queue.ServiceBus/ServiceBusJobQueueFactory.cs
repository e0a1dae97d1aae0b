using MediaGen.ServiceBus.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MediaGen;

/// <summary>Creates Service Bus queues outside dependency injection, for callers that own the queue's lifetime.</summary>
public static class ServiceBusJobQueueFactory
{
    /// <summary>Creates a queue. The caller owns it: dispose the handle when done.</summary>
    /// <param name="options">The options; validated here.</param>
    /// <param name="timeProvider">The clock; null for the system clock.</param>
    /// <param name="logger">The logger; null for none.</param>
    /// <returns>The queue handle.</returns>
    /// <exception cref="InvalidOperationException">The options name no namespace or key.</exception>
    public static ServiceBusJobQueueHandle Create(ServiceBusQueueOptions options, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = new ServiceBusQueueOptionsValidator().Validate(null, options);
        if (result.Failed)
        {
            throw new InvalidOperationException("The Service Bus queue options are invalid: " + result.FailureMessage);
        }

        return new ServiceBusJobQueueHandle(new ServiceBusJobQueue(options, timeProvider ?? TimeProvider.System, logger ?? NullLogger.Instance));
    }
}

/// <summary>A Service Bus queue owned by whoever created it; it is an <see cref="IJobQueue"/> and is disposed by its owner.</summary>
public sealed class ServiceBusJobQueueHandle : IJobQueue, IAsyncDisposable, IDisposable
{
    private readonly ServiceBusJobQueue _queue;

    internal ServiceBusJobQueueHandle(ServiceBusJobQueue queue)
    {
        _queue = queue;
        Unowned = new UnownedQueue(queue);
    }

    /// <summary>A view of the same queue that ignores disposal, for registering it where a container would dispose it.</summary>
    internal IJobQueue Unowned { get; }

    /// <inheritdoc />
    public ValueTask EnqueueAsync(QueueMessage message, EnqueueOptions? options = null, CancellationToken cancellationToken = default) =>
        _queue.EnqueueAsync(message, options, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<IQueueLease>> ReceiveAsync(int maxMessages, TimeSpan maxWait, CancellationToken cancellationToken = default) =>
        _queue.ReceiveAsync(maxMessages, maxWait, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<DeadLetterMessage>> ListDeadLettersAsync(int maxCount = 100, CancellationToken cancellationToken = default) =>
        _queue.ListDeadLettersAsync(maxCount, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> ResubmitDeadLetterAsync(string messageId, CancellationToken cancellationToken = default) =>
        _queue.ResubmitDeadLetterAsync(messageId, cancellationToken);

    /// <inheritdoc />
    public ValueTask<QueueDepth> GetDepthAsync(CancellationToken cancellationToken = default) => _queue.GetDepthAsync(cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _queue.DisposeAsync();

    /// <summary>Disposes without waiting for the broker's answer to the close; prefer <see cref="DisposeAsync"/>.</summary>
    public void Dispose() => _queue.Dispose();

    private sealed class UnownedQueue(ServiceBusJobQueue queue) : IJobQueue
    {
        public ValueTask EnqueueAsync(QueueMessage message, EnqueueOptions? options = null, CancellationToken cancellationToken = default) =>
            queue.EnqueueAsync(message, options, cancellationToken);

        public ValueTask<IReadOnlyList<IQueueLease>> ReceiveAsync(int maxMessages, TimeSpan maxWait, CancellationToken cancellationToken = default) =>
            queue.ReceiveAsync(maxMessages, maxWait, cancellationToken);

        public ValueTask<IReadOnlyList<DeadLetterMessage>> ListDeadLettersAsync(int maxCount = 100, CancellationToken cancellationToken = default) =>
            queue.ListDeadLettersAsync(maxCount, cancellationToken);

        public ValueTask<bool> ResubmitDeadLetterAsync(string messageId, CancellationToken cancellationToken = default) =>
            queue.ResubmitDeadLetterAsync(messageId, cancellationToken);

        public ValueTask<QueueDepth> GetDepthAsync(CancellationToken cancellationToken = default) => queue.GetDepthAsync(cancellationToken);
    }
}
