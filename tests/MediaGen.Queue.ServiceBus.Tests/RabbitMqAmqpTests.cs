using System.Diagnostics;
using Amqp;
using Amqp.Framing;
using MediaGen.Compliance;
using MediaGen.ServiceBus.Internal;

namespace MediaGen.Queue.ServiceBus.Tests;

/// <summary>
/// The plain AMQP 1.0 paths against a real RabbitMQ 3.10 with its AMQP 1.0 plugin (started by eng/servers/rabbitmq.sh):
/// connect, send, receive, accept, release, reject to a dead-letter policy, and a broker killed and restarted with no
/// accepted job lost. RabbitMQ has no locks, renewal, scheduling or duplicate detection; those are not tested here.
/// </summary>
[Collection(RabbitMqCollection.Name)]
public sealed class RabbitMqAmqpTests : IAsyncLifetime
{
    private const string Variable = "MEDIAGEN_RABBITMQ_AMQP";
    private ServiceBusJobQueue? _queue;

    private ServiceBusJobQueue Queue => _queue!;

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable(Variable) is not { Length: > 0 })
        {
            return;
        }

        // Drained by a client of its own: a receive leaves link credit behind, and the drainer's goes away with it.
        await using (var drainer = NewQueue())
        {
            await DrainAsync(drainer);
        }

        _queue = NewQueue();
    }

    public async Task DisposeAsync()
    {
        if (_queue is not null)
        {
            await _queue.DisposeAsync();
        }
    }

    [ServerFact(Variable)]
    public async Task ReceiveAsync_AfterEnqueue_AcceptRemovesIt()
    {
        var jobId = NewJobId();
        await Queue.EnqueueAsync(new QueueMessage(jobId) { Headers = new Dictionary<string, string> { ["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } });

        var lease = await ReceiveOneAsync(Queue);
        Assert.Equal(jobId, lease.Message.JobId);
        Assert.Equal(1, lease.DeliveryCount);
        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", lease.Message.Headers?["traceparent"]);
        await lease.CompleteAsync();

        Assert.Empty(await Queue.ReceiveAsync(5, TimeSpan.Zero));
    }

    [ServerFact(Variable)]
    public async Task AbandonAsync_Released_IsReceivableAgain()
    {
        var jobId = NewJobId();
        await Queue.EnqueueAsync(new QueueMessage(jobId));

        await (await ReceiveOneAsync(Queue)).AbandonAsync();
        var again = await ReceiveOneAsync(Queue);

        Assert.Equal(jobId, again.Message.JobId);
        await again.CompleteAsync();
    }

    [ServerFact(Variable)]
    public async Task DisposeAsync_UnsettledLeaseOnClosedQueue_IsRedeliveredToAnotherClient()
    {
        var jobId = NewJobId();
        await Queue.EnqueueAsync(new QueueMessage(jobId));
        await using (var first = NewQueue())
        {
            Assert.Equal(jobId, (await ReceiveOneAsync(first)).Message.JobId);
        }

        var lease = await ReceiveOneAsync(Queue);
        Assert.Equal(jobId, lease.Message.JobId);
        await lease.CompleteAsync();
    }

    [ServerFact(Variable)]
    public async Task DeadLetterAsync_Rejected_GoesToTheDeadLetterQueueAndCanBeResubmitted()
    {
        var jobId = NewJobId();
        await Queue.EnqueueAsync(new QueueMessage(jobId));

        await (await ReceiveOneAsync(Queue)).DeadLetterAsync("attempts_exhausted", "Every attempt failed.");

        var deadLetter = Assert.Single(await WaitForDeadLettersAsync(Queue, 1));
        Assert.Equal(jobId, deadLetter.Message.JobId);
        Assert.Equal(jobId, deadLetter.Message.MessageId);
        Assert.Single(await Queue.ListDeadLettersAsync());
        Assert.True(await Queue.ResubmitDeadLetterAsync(jobId));
        var lease = await ReceiveOneAsync(Queue);
        Assert.Equal(jobId, lease.Message.JobId);
        await lease.CompleteAsync();
        Assert.Empty(await Queue.ListDeadLettersAsync());
    }

    [ServerFact(Variable)]
    public async Task ReceiveAsync_ForeignMessage_IsDeadLetteredAsMalformed()
    {
        var settings = Queue.Settings;
        var connection = await new ConnectionFactory().CreateAsync(new Address(Environment.GetEnvironmentVariable(Variable)));
        try
        {
            var session = new Session(connection);
            var sender = new SenderLink(session, "foreign-" + NewJobId(), settings.QueueAddress);
            await sender.SendAsync(new Message("not a job message") { Properties = new Properties { MessageId = "foreign-1" } });
            await sender.CloseAsync();
        }
        finally
        {
            await connection.CloseAsync();
        }

        Assert.Empty(await Queue.ReceiveAsync(1, TimeSpan.FromSeconds(2)));
        var deadLetter = Assert.Single(await WaitForDeadLettersAsync(Queue, 1));
        Assert.Equal(MediaGenErrorCodes.MalformedMessage, deadLetter.Reason);
    }

    [ServerFact(Variable)]
    public async Task EnqueueAsync_BrokerKilledAndRestarted_NoAcceptedJobIsLost()
    {
        var ids = Enumerable.Range(0, 20).Select(_ => NewJobId()).ToList();
        foreach (var id in ids)
        {
            await Queue.EnqueueAsync(new QueueMessage(id));
        }

        await RunBrokerScriptAsync("kill -9 \"$(cat \"$RABBITMQ_PID_FILE\")\"; for i in $(seq 1 100); do kill -0 \"$(cat \"$RABBITMQ_PID_FILE\")\" 2>/dev/null || break; sleep 0.1; done; "
            + "setsid /usr/lib/rabbitmq/bin/rabbitmq-server >>\"$RABBITMQ_LOG_BASE/console.txt\" 2>&1 < /dev/null & "
            + "for i in $(seq 1 240); do /usr/lib/rabbitmq/bin/rabbitmqctl -q await_startup >/dev/null 2>&1 && break; sleep 0.5; done; "
            + "/usr/lib/rabbitmq/bin/rabbitmqctl -q await_startup && "
            + "/usr/lib/rabbitmq/bin/rabbitmqctl -q eval 'list_to_integer(os:getpid()).' > \"$RABBITMQ_PID_FILE\"");

        var received = new HashSet<string>(StringComparer.Ordinal);
        var deadline = Stopwatch.StartNew();
        while (received.Count < ids.Count && deadline.Elapsed < TimeSpan.FromSeconds(90))
        {
            try
            {
                foreach (var lease in await Queue.ReceiveAsync(10, TimeSpan.FromSeconds(1)))
                {
                    received.Add(lease.Message.JobId);
                    await lease.CompleteAsync();
                }
            }
            catch (QueueUnavailableException)
            {
                // The broker is still coming back; the queue reconnects with backoff.
                await Task.Delay(200);
            }
        }

        Assert.Equal(ids.Order(StringComparer.Ordinal), received.Order(StringComparer.Ordinal));
    }

    private static ServiceBusJobQueue NewQueue() =>
        new(
            new ServiceBusQueueOptions
            {
                ConnectionString = Environment.GetEnvironmentVariable(Variable),
                QueueName = Environment.GetEnvironmentVariable("MEDIAGEN_RABBITMQ_QUEUE") ?? "mediagen-jobs",
                Broker = AmqpBrokerProfile.RabbitMQ,
                ReconnectDelay = TimeSpan.FromMilliseconds(200),
                MaxReconnectDelay = TimeSpan.FromSeconds(2),
                ReceiveRoundTrip = TimeSpan.FromMilliseconds(300),
            },
            TimeProvider.System,
            ConsoleWarningLogger.Instance);

    private static string NewJobId() => Guid.NewGuid().ToString("N");

    private static async Task<IQueueLease> ReceiveOneAsync(IJobQueue queue) =>
        Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(10)));

    private static async Task<IReadOnlyList<DeadLetterMessage>> WaitForDeadLettersAsync(IJobQueue queue, int count)
    {
        IReadOnlyList<DeadLetterMessage> listed = [];
        for (var i = 0; i < 50 && listed.Count < count; i++)
        {
            listed = await queue.ListDeadLettersAsync();
        }

        return listed;
    }

    /// <summary>Empties the shared queue and its dead-letter queue, so each test starts clean.</summary>
    private static async Task DrainAsync(ServiceBusJobQueue queue)
    {
        while (await queue.ReceiveAsync(50, TimeSpan.Zero) is { Count: > 0 } leases)
        {
            foreach (var lease in leases)
            {
                await lease.CompleteAsync();
            }
        }

        foreach (var deadLetter in await queue.ListDeadLettersAsync(256))
        {
            await queue.ResubmitDeadLetterAsync(deadLetter.Message.MessageId);
        }

        while (await queue.ReceiveAsync(50, TimeSpan.Zero) is { Count: > 0 } leases)
        {
            foreach (var lease in leases)
            {
                await lease.CompleteAsync();
            }
        }
    }

    private static async Task RunBrokerScriptAsync(string script)
    {
        var env = ServerEnvironment.Require("MEDIAGEN_RABBITMQ_ENV");
        using var process = Process.Start(new ProcessStartInfo("bash", ["-c", $"source '{env}' && {script}"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(150));
        Assert.True(process.ExitCode == 0, $"The broker script failed ({process.ExitCode}): {await output} {await error}");
    }
}

/// <summary>The RabbitMQ tests share one broker and queue, so they run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RabbitMqCollection
{
    public const string Name = "RabbitMQ";
}
