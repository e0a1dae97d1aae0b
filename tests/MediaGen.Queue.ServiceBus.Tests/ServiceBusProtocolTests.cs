using Amqp;
using Amqp.Framing;
using MediaGen.Queue.ServiceBus.Tests.Endpoint;
using MediaGen.ServiceBus.Internal;
using Microsoft.Extensions.Time.Testing;

namespace MediaGen.Queue.ServiceBus.Tests;

/// <summary>
/// The Service Bus-specific paths against <see cref="SpecAmqpEndpoint"/> (built from Microsoft's protocol description,
/// not Service Bus itself): claims-based security, token refresh, max delivery count, duplicate detection and the
/// adapter's handling of a message that is not a MediaGen job message.
/// </summary>
public sealed class ServiceBusProtocolTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly List<ServiceBusJobQueue> _queues = [];
    private SpecAmqpEndpoint _endpoint = null!;

    public Task InitializeAsync()
    {
        _endpoint = new SpecAmqpEndpoint(_time);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var queue in _queues)
        {
            await queue.DisposeAsync();
        }

        await _endpoint.DisposeAsync();
    }

    [Fact]
    public async Task EnqueueAsync_WrongSharedAccessKey_ThrowsQueueUnavailableNamingTheRefusal()
    {
        _endpoint.CreateQueue("jobs", TimeSpan.FromSeconds(30));
        var queue = NewQueue("jobs", o => o.ConnectionString = $"Endpoint=sb://127.0.0.1:{_endpoint.Port}/;SharedAccessKeyName={_endpoint.KeyName};SharedAccessKey=d3Jvbmc=");

        var e = await Assert.ThrowsAsync<QueueUnavailableException>(() => queue.EnqueueAsync(new QueueMessage("job-1")).AsTask());

        Assert.Contains("refused the shared access signature", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, _endpoint.TokensAccepted);
        Assert.True(_endpoint.TokensRefused >= 1);
    }

    [Fact]
    public async Task TokenRefresh_BeforeTheTokensExpire_PutsNewTokensAndKeepsTheQueueWorking()
    {
        _endpoint.CreateQueue("jobs", TimeSpan.FromSeconds(30));
        var queue = NewQueue("jobs", o => o.TokenLifetime = TimeSpan.FromMinutes(10));
        await queue.EnqueueAsync(new QueueMessage("job-1"));
        var initial = _endpoint.TokensAccepted;

        _time.Advance(TimeSpan.FromMinutes(8) + TimeSpan.FromSeconds(1));
        await PollAsync(() => _endpoint.TokensAccepted >= initial * 2, "the refreshed tokens");
        await queue.FlushAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(3));
        await queue.EnqueueAsync(new QueueMessage("job-2"));

        var leases = await ReceiveAsync(queue, 2);
        Assert.Equal(["job-1", "job-2"], leases.Select(l => l.Message.JobId).Order(StringComparer.Ordinal));
        Assert.Equal(2, initial);
    }

    [Fact]
    public async Task AbandonAsync_MaxDeliveryCountReached_BrokerDeadLettersWithItsReason()
    {
        _endpoint.CreateQueue("jobs", TimeSpan.FromSeconds(30), maxDeliveryCount: 2);
        var queue = NewQueue("jobs");
        await queue.EnqueueAsync(new QueueMessage("job-1"));

        await (await ReceiveAsync(queue, 1))[0].AbandonAsync();
        var second = (await ReceiveAsync(queue, 1))[0];
        Assert.Equal(2, second.DeliveryCount);
        await second.AbandonAsync();
        await queue.FlushAsync(CancellationToken.None);

        Assert.Empty(await queue.ReceiveAsync(1, TimeSpan.Zero));
        var deadLetter = Assert.Single(await queue.ListDeadLettersAsync());
        Assert.Equal("MaxDeliveryCountExceeded", deadLetter.Reason);
        Assert.Equal(2, deadLetter.DeliveryCount);
    }

    [Fact]
    public async Task EnqueueAsync_SameMessageIdTwice_DuplicateDetectionKeepsOne()
    {
        var spec = _endpoint.CreateQueue("jobs", TimeSpan.FromSeconds(30));
        var queue = NewQueue("jobs");

        await queue.EnqueueAsync(new QueueMessage("job-1"));
        await queue.EnqueueAsync(new QueueMessage("job-1"));

        var lease = Assert.Single(await ReceiveAsync(queue, 1));
        await lease.CompleteAsync();
        Assert.Empty(await queue.ReceiveAsync(5, TimeSpan.Zero));
        Assert.Equal(1, spec.DuplicatesDropped);
    }

    [Fact]
    public async Task AbandonAsync_WithDelayTwice_CopiesGetDistinctIdsSoDuplicateDetectionKeepsThem()
    {
        var spec = _endpoint.CreateQueue("jobs", TimeSpan.FromSeconds(30));
        var queue = NewQueue("jobs");
        await queue.EnqueueAsync(new QueueMessage("job-1"));

        await (await ReceiveAsync(queue, 1))[0].AbandonAsync(TimeSpan.FromSeconds(5));
        await queue.FlushAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(5));
        var second = (await ReceiveAsync(queue, 1))[0];
        await second.AbandonAsync(TimeSpan.FromSeconds(5));
        await queue.FlushAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(5));
        var third = (await ReceiveAsync(queue, 1))[0];

        Assert.Equal("job-1:1", second.Message.MessageId);
        Assert.Equal("job-1:2", third.Message.MessageId);
        Assert.Equal(3, third.DeliveryCount);
        Assert.Equal(0, spec.DuplicatesDropped);
        await third.CompleteAsync();
    }

    [Fact]
    public async Task ReceiveAsync_MessageThatIsNotAJobMessage_IsDeadLetteredAsMalformed()
    {
        _endpoint.CreateQueue("jobs", TimeSpan.FromSeconds(30));
        var queue = NewQueue("jobs");
        await queue.SendAsync(new Message("not a job message") { Properties = new Properties { MessageId = "foreign-1" } }, "foreign-1", CancellationToken.None);
        await queue.EnqueueAsync(new QueueMessage("job-1"));

        var lease = Assert.Single(await ReceiveAsync(queue, 1));
        Assert.Equal("job-1", lease.Message.JobId);
        await lease.CompleteAsync();
        await queue.FlushAsync(CancellationToken.None);

        var deadLetter = Assert.Single(await queue.ListDeadLettersAsync());
        Assert.Equal(MediaGenErrorCodes.MalformedMessage, deadLetter.Reason);
        Assert.Equal("foreign-1", deadLetter.Message.MessageId);
    }

    private ServiceBusJobQueue NewQueue(string name, Action<ServiceBusQueueOptions>? configure = null)
    {
        var options = new ServiceBusQueueOptions
        {
            ConnectionString = _endpoint.ConnectionString,
            QueueName = name,
            RemoteCertificateValidation = _endpoint.ValidateCertificate,
            ReceiveRoundTrip = TimeSpan.FromMilliseconds(400),
        };
        configure?.Invoke(options);
        var queue = new ServiceBusJobQueue(options, _time, ConsoleWarningLogger.Instance);
        _queues.Add(queue);
        return queue;
    }

    private static async Task<List<IQueueLease>> ReceiveAsync(IJobQueue queue, int count)
    {
        var leases = new List<IQueueLease>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (leases.Count < count)
        {
            leases.AddRange(await queue.ReceiveAsync(count - leases.Count, TimeSpan.FromMinutes(5), timeout.Token));
        }

        return leases;
    }

    private static async Task PollAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 500; i++)
        {
            if (condition())
            {
                return;
            }

            await Task.Delay(20);
        }

        Assert.Fail($"Timed out waiting for {what}.");
    }
}
