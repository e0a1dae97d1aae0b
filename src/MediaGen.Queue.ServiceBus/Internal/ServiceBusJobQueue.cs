using Azure;
using Azure.Messaging.ServiceBus;
using Azure.Messaging.ServiceBus.Administration;
using Microsoft.Extensions.Logging;

namespace MediaGen.ServiceBus.Internal;

/// <summary>
/// The <see cref="IJobQueue"/> on Azure Service Bus through <see cref="ServiceBusClient"/>: one sender, one peek-lock
/// receiver on the queue and one on its dead-letter subqueue, all from one client (created here, or the caller's).
/// </summary>
internal sealed class ServiceBusJobQueue : IJobQueue, IAsyncDisposable, IDisposable
{
    private static readonly TimeSpan LongestReceiveWait = TimeSpan.FromHours(1);
    private readonly ServiceBusClient _client;
    private readonly bool _ownsClient;
    private readonly ServiceBusSender _sender;
    private readonly ServiceBusReceiver _receiver;
    private readonly ServiceBusReceiver _deadLetters;
    private readonly ServiceBusAdministrationClient? _administration;
    private bool _depthAllowed = true;
    private int _disposed;

    /// <summary>Creates the queue on <paramref name="client"/>.</summary>
    /// <param name="client">The client.</param>
    /// <param name="ownsClient">Whether disposing the queue disposes the client.</param>
    /// <param name="administration">The administration client for depth figures; null reports -1.</param>
    /// <param name="options">The options.</param>
    /// <param name="timeProvider">The clock for scheduled times.</param>
    /// <param name="logger">The logger.</param>
    public ServiceBusJobQueue(ServiceBusClient client, bool ownsClient, ServiceBusAdministrationClient? administration, ServiceBusQueueOptions options, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _client = client;
        _ownsClient = ownsClient;
        _administration = options.ReportDepth ? administration : null;
        Options = options;
        Time = timeProvider;
        Logger = logger;
        _sender = client.CreateSender(options.QueueName);
        _receiver = client.CreateReceiver(options.QueueName, new ServiceBusReceiverOptions
        {
            ReceiveMode = ServiceBusReceiveMode.PeekLock,
            PrefetchCount = options.PrefetchCount,
        });
        _deadLetters = client.CreateReceiver(options.QueueName, new ServiceBusReceiverOptions
        {
            ReceiveMode = ServiceBusReceiveMode.PeekLock,
            SubQueue = SubQueue.DeadLetter,
        });
        Log.Started(logger, options.QueueName, client.FullyQualifiedNamespace);
    }

    internal ServiceBusQueueOptions Options { get; }

    internal TimeProvider Time { get; }

    internal ILogger Logger { get; }

    internal ServiceBusReceiver Receiver => _receiver;

    public async ValueTask EnqueueAsync(QueueMessage message, EnqueueOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        options ??= EnqueueOptions.Default;
        DateTimeOffset? scheduledAt = options.Delay > TimeSpan.Zero ? Time.GetUtcNow() + options.Delay : null;
        await SendAsync(ServiceBusMessageMapping.ToServiceBus(message, options.Priority, scheduledAt), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<IQueueLease>> ReceiveAsync(int maxMessages, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        cancellationToken.ThrowIfCancellationRequested();
        var wait = maxWait < Options.MinimumReceiveWait ? Options.MinimumReceiveWait : maxWait > LongestReceiveWait ? LongestReceiveWait : maxWait;
        IReadOnlyList<ServiceBusReceivedMessage> received;
        try
        {
            received = await _receiver.ReceiveMessagesAsync(Math.Min(maxMessages, Options.MaxReceiveBatchSize), wait, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (ServiceBusErrors.IsUnavailable(e))
        {
            throw ServiceBusErrors.Unavailable(Options.QueueName, "receive", e);
        }

        var leases = new List<IQueueLease>(received.Count);
        foreach (var message in received)
        {
            if (ServiceBusMessageMapping.TryRead(message, out var figures, out var problem))
            {
                leases.Add(new ServiceBusQueueLease(this, message, figures));
                continue;
            }

            Log.MalformedMessage(Logger, message.MessageId, problem);
            try
            {
                await _receiver.DeadLetterMessageAsync(message, Options.MalformedMessageReason, problem, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (ServiceBusErrors.IsUnavailable(e) || ServiceBusErrors.IsLockLost(e))
            {
                // Delivered again when its lock expires, and dead-lettered then.
                Log.AbandonFailed(Logger, message.MessageId, e);
            }
        }

        return leases;
    }

    public async ValueTask<IReadOnlyList<DeadLetterMessage>> ListDeadLettersAsync(int maxCount = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        var peeked = await PeekDeadLettersAsync(maxCount, cancellationToken).ConfigureAwait(false);
        var list = new List<DeadLetterMessage>(peeked.Count);
        foreach (var message in peeked)
        {
            if (ServiceBusMessageMapping.TryRead(message, out var figures, out _))
            {
                list.Add(new DeadLetterMessage(figures.Message, message.DeadLetterReason ?? "unknown", message.DeadLetterErrorDescription, figures.DeliveryCount, message.EnqueuedTime));
            }
        }

        return list;
    }

    public ValueTask<bool> ResubmitDeadLetterAsync(string messageId, CancellationToken cancellationToken = default) =>
        TakeDeadLetterAsync(messageId, resubmit: true, cancellationToken);

    public ValueTask<bool> DeleteDeadLetterAsync(string messageId, CancellationToken cancellationToken = default) =>
        TakeDeadLetterAsync(messageId, resubmit: false, cancellationToken);

    /// <summary>Completes the dead letter with <paramref name="messageId"/>, after sending a fresh copy of it when <paramref name="resubmit"/>.</summary>
    private async ValueTask<bool> TakeDeadLetterAsync(string messageId, bool resubmit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        var target = (await PeekDeadLettersAsync(Options.DeadLetterScanCount, cancellationToken).ConfigureAwait(false))
            .FirstOrDefault(m => string.Equals(m.MessageId, messageId, StringComparison.Ordinal));
        if (target is null)
        {
            return false;
        }

        // Dead letters are locked, oldest first, until the one peeked comes up; the others are handed back.
        var held = new List<ServiceBusReceivedMessage>();
        try
        {
            ServiceBusReceivedMessage? match = null;
            while (match is null && held.Count < Options.DeadLetterScanCount)
            {
                var batch = await _deadLetters.ReceiveMessagesAsync(Options.DeadLetterScanCount - held.Count, Options.MinimumReceiveWait * 5, cancellationToken).ConfigureAwait(false);
                if (batch.Count == 0)
                {
                    break;
                }

                held.AddRange(batch);
                match = batch.FirstOrDefault(m => m.SequenceNumber == target.SequenceNumber);
            }

            if (match is null)
            {
                return false;
            }

            held.Remove(match);
            if (resubmit && ServiceBusMessageMapping.TryRead(match, out var figures, out _))
            {
                var (copy, carried) = figures.NextCopy(priorDeliveries: 0);
                await SendAsync(ServiceBusMessageMapping.ToServiceBus(copy, figures.Priority, null, carried), cancellationToken).ConfigureAwait(false);
            }

            await _deadLetters.CompleteMessageAsync(match, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (ServiceBusErrors.IsUnavailable(e) || ServiceBusErrors.IsLockLost(e))
        {
            throw ServiceBusErrors.Unavailable(Options.QueueName, $"{(resubmit ? "resubmit" : "delete")} dead letter '{messageId}'", e);
        }
        finally
        {
            foreach (var other in held)
            {
                await AbandonQuietlyAsync(_deadLetters, other).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Counts from the administration API: scheduled and dead-lettered messages. Service Bus's active count includes
    /// locked messages, so ready and leased are not told apart and are -1; so is everything without the Manage right.
    /// </summary>
    public async ValueTask<QueueDepth> GetDepthAsync(CancellationToken cancellationToken = default)
    {
        var unknown = new QueueDepth(-1, -1, -1, -1);
        if (_administration is null || !Volatile.Read(ref _depthAllowed))
        {
            return unknown;
        }

        try
        {
            QueueRuntimeProperties properties = await _administration.GetQueueRuntimePropertiesAsync(Options.QueueName, cancellationToken).ConfigureAwait(false);
            return new QueueDepth(-1, properties.ScheduledMessageCount, -1, properties.DeadLetterMessageCount);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or RequestFailedException { Status: 401 or 403 })
        {
            Volatile.Write(ref _depthAllowed, false);
            Log.DepthNotAllowed(Logger, e);
            return unknown;
        }
        catch (Exception e) when (ServiceBusErrors.IsUnavailable(e) || e is HttpRequestException or AggregateException)
        {
            Log.DepthFailed(Logger, e);
            return unknown;
        }
    }

    /// <summary>Starts disposing without waiting (for containers disposed synchronously); prefer <see cref="DisposeAsync"/>.</summary>
    public void Dispose() => _ = DisposeAsync().AsTask();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _receiver.DisposeAsync().ConfigureAwait(false);
        await _deadLetters.DisposeAsync().ConfigureAwait(false);
        await _sender.DisposeAsync().ConfigureAwait(false);
        if (_ownsClient)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }
    }

    internal async Task SendAsync(ServiceBusMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await _sender.SendMessageAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (ServiceBusErrors.IsUnavailable(e))
        {
            throw ServiceBusErrors.Unavailable(Options.QueueName, $"accept message '{message.MessageId}'", e);
        }
    }

    /// <summary>Hands a message back at once; a failure only means it comes back when its lock expires.</summary>
    internal async Task AbandonQuietlyAsync(ServiceBusReceiver receiver, ServiceBusReceivedMessage message)
    {
        try
        {
            await receiver.AbandonMessageAsync(message, cancellationToken: CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (ServiceBusErrors.IsUnavailable(e) || ServiceBusErrors.IsLockLost(e) || e is ObjectDisposedException or InvalidOperationException)
        {
            Log.AbandonFailed(Logger, message.MessageId, e);
        }
    }

    private async Task<IReadOnlyList<ServiceBusReceivedMessage>> PeekDeadLettersAsync(int maxCount, CancellationToken cancellationToken)
    {
        try
        {
            return await _deadLetters.PeekMessagesAsync(maxCount, fromSequenceNumber: 0, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (ServiceBusErrors.IsUnavailable(e))
        {
            throw ServiceBusErrors.Unavailable(Options.QueueName, "list its dead letters", e);
        }
    }
}
