using System.Globalization;

namespace MediaGen.Testing;

/// <summary>
/// The <see cref="IJobQueue"/> contract, written once. Every queue implementation's test project derives a class
/// from this one and says how to create a fresh, isolated queue; the suite does the rest.
/// </summary>
/// <remarks>
/// "Not receivable" is checked with a receive that does not wait (<see cref="TimeSpan.Zero"/>); "receivable" with a
/// receive that may wait long in queue time but is bounded by <see cref="ComplianceTestBase.RealTimeout"/> of real
/// time, so an implementation that moves delayed or expired messages on a background timer is not raced.
/// </remarks>
public abstract class JobQueueComplianceTests : ComplianceTestBase
{
    /// <summary>How long a receive that must find a message may wait, in queue time.</summary>
    protected static readonly TimeSpan LongWait = TimeSpan.FromMinutes(5);

    /// <summary>The lease duration most tests use. Every time the suite moves is expressed relative to it.</summary>
    protected virtual TimeSpan LeaseDuration => TimeSpan.FromSeconds(30);

    /// <summary>The delay the delay tests use.</summary>
    protected virtual TimeSpan ShortDelay => TimeSpan.FromSeconds(10);

    /// <summary>
    /// How far a timestamp the queue reports (enqueued, locked until, dead-lettered) may be from the expected instant
    /// on <see cref="ComplianceTestBase.Time"/>. The default allows a store that keeps milliseconds.
    /// </summary>
    protected virtual TimeSpan ClockTolerance => TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// Whether <see cref="IJobQueue.GetDepthAsync"/> reports every figure. A queue that cannot tell one reports -1
    /// (the contract allows it) and overrides this to <see langword="false"/>; it then must report -1 or the exact figure.
    /// </summary>
    protected virtual bool ReportsAllDepthFigures => true;

    /// <summary>
    /// Whether the queue hands out higher priorities first. A queue without priorities (Azure Service Bus) overrides this
    /// to <see langword="false"/>; the priority-order tests then check only that each message keeps its priority and that
    /// none is lost, and the adapter's README says so.
    /// </summary>
    protected virtual bool SupportsPriorityOrdering => true;

    /// <summary>
    /// Whether, within a priority, the queue serves <see cref="QueueMessage.GroupId"/> groups in turn (fair share). A queue
    /// that delivers in arrival order regardless of groups sets this to <see langword="false"/>; the fair-share test then
    /// checks only that every message arrives once with its group, and the adapter's README says so.
    /// </summary>
    protected virtual bool SupportsFairShare => true;

    /// <summary>
    /// Whether the queue tells a ready message's position (<see cref="IJobQueue.GetPositionAsync"/>). When false, the
    /// suite checks that it answers null instead.
    /// </summary>
    protected virtual bool SupportsQueuePosition => true;

    /// <summary>Creates a fresh, empty, isolated queue whose leases last <paramref name="leaseDuration"/> and whose clock is <see cref="ComplianceTestBase.Time"/>.</summary>
    /// <param name="leaseDuration">The lease duration.</param>
    /// <returns>The queue.</returns>
    protected abstract ValueTask<IJobQueue> CreateQueueAsync(TimeSpan leaseDuration);

    /// <summary>
    /// Creates a second client of the same queue, as another process of a distributed deployment would hold.
    /// The default returns the same instance.
    /// </summary>
    /// <param name="queue">A queue from <see cref="CreateQueueAsync"/>.</param>
    /// <returns>The peer client.</returns>
    protected virtual ValueTask<IJobQueue> CreatePeerQueueAsync(IJobQueue queue) => ValueTask.FromResult(queue);

    /// <summary>Moves the queue's clock on. The default advances <see cref="ComplianceTestBase.Time"/>.</summary>
    /// <param name="by">How far.</param>
    /// <returns>A task that completes once the queue sees the new time.</returns>
    protected virtual ValueTask AdvanceTimeAsync(TimeSpan by)
    {
        Time.Advance(by);
        return ValueTask.CompletedTask;
    }

    [ComplianceFact]
    public async Task ReceiveAsync_AfterEnqueue_ReturnsTheMessageWithFirstDeliveryFigures()
    {
        var queue = await NewQueueAsync();
        var enqueuedAt = Time.GetUtcNow();
        await queue.EnqueueAsync(new QueueMessage("job-1"));

        var lease = await ReceiveOneAsync(queue);

        Assert.Equal("job-1", lease.Message.JobId);
        Assert.Equal("job-1", lease.Message.MessageId);
        Assert.Equal(1, lease.DeliveryCount);
        Assert.Equal(JobPriority.Normal, lease.Priority);
        AssertClose(enqueuedAt, lease.EnqueuedAt, "EnqueuedAt");
        AssertClose(Time.GetUtcNow() + LeaseDuration, lease.LockedUntil, "LockedUntil");
        await lease.CompleteAsync();
    }

    [ComplianceFact]
    public async Task CompleteAsync_ReceivedMessage_RemovesItForGood()
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job-1"));
        var lease = await ReceiveOneAsync(queue);

        await lease.CompleteAsync();
        await lease.DisposeAsync();
        await AdvanceTimeAsync(LeaseDuration * 2);

        await AssertEmptyAsync(queue, "a completed message");
        await AssertDepthAsync(queue, new QueueDepth(0, 0, 0, 0));
    }

    [ComplianceFact]
    public async Task ReceiveAsync_SamePriority_IsFirstInFirstOut()
    {
        var queue = await NewQueueAsync();
        for (var i = 0; i < 10; i++)
        {
            await queue.EnqueueAsync(new QueueMessage($"job-{i}"));
        }

        var received = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            var lease = await ReceiveOneAsync(queue);
            received.Add(lease.Message.JobId);
            await lease.CompleteAsync();
        }

        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"job-{i}"), received);
    }

    [ComplianceFact]
    public async Task ReceiveAsync_MixedPriorities_ReturnsHighThenNormalThenLowEachInOrder()
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("low-1"), new EnqueueOptions { Priority = JobPriority.Low });
        await queue.EnqueueAsync(new QueueMessage("normal-1"));
        await queue.EnqueueAsync(new QueueMessage("high-1"), new EnqueueOptions { Priority = JobPriority.High });
        await queue.EnqueueAsync(new QueueMessage("low-2"), new EnqueueOptions { Priority = JobPriority.Low });
        await queue.EnqueueAsync(new QueueMessage("normal-2"), new EnqueueOptions { Priority = JobPriority.Normal });
        await queue.EnqueueAsync(new QueueMessage("high-2"), new EnqueueOptions { Priority = JobPriority.High });

        var received = new List<(string JobId, JobPriority Priority)>();
        for (var i = 0; i < 6; i++)
        {
            var lease = await ReceiveOneAsync(queue);
            received.Add((lease.Message.JobId, lease.Priority));
            await lease.CompleteAsync();
        }

        if (!SupportsPriorityOrdering)
        {
            // No order by priority to check: every message arrives once, in queue order, with the priority it was sent with.
            Assert.Equal(
                [
                    ("low-1", JobPriority.Low), ("normal-1", JobPriority.Normal), ("high-1", JobPriority.High),
                    ("low-2", JobPriority.Low), ("normal-2", JobPriority.Normal), ("high-2", JobPriority.High),
                ],
                received);
            return;
        }

        Assert.Equal(
            [
                ("high-1", JobPriority.High), ("high-2", JobPriority.High),
                ("normal-1", JobPriority.Normal), ("normal-2", JobPriority.Normal),
                ("low-1", JobPriority.Low), ("low-2", JobPriority.Low),
            ],
            received);
    }

    [ComplianceFact]
    public async Task ReceiveAsync_GroupWithBacklogThenAnotherGroup_ServesTheGroupsInTurn()
    {
        var queue = await NewQueueAsync();
        for (var i = 0; i < 6; i++)
        {
            await queue.EnqueueAsync(new QueueMessage("a-" + i.ToString(CultureInfo.InvariantCulture)) { GroupId = "owner-a" });
        }

        var first = await ReceiveOneAsync(queue);
        await first.CompleteAsync();
        await queue.EnqueueAsync(new QueueMessage("b-0") { GroupId = "owner-b" });
        await queue.EnqueueAsync(new QueueMessage("b-1") { GroupId = "owner-b" });
        await queue.EnqueueAsync(new QueueMessage("none")); // no group: a group of its own

        var received = new List<(string JobId, string? GroupId)> { (first.Message.JobId, first.Message.GroupId) };
        for (var i = 0; i < 8; i++)
        {
            var lease = await ReceiveOneAsync(queue);
            received.Add((lease.Message.JobId, lease.Message.GroupId));
            await lease.CompleteAsync();
        }

        Assert.Empty(await queue.ReceiveAsync(1, TimeSpan.Zero));
        var ids = received.Select(r => r.JobId).ToList();
        Assert.Equal(["a-0", "a-1", "a-2", "a-3", "a-4", "a-5"], ids.Where(id => id.StartsWith("a-", StringComparison.Ordinal)));
        Assert.Equal(["b-0", "b-1"], ids.Where(id => id.StartsWith("b-", StringComparison.Ordinal)));
        Assert.All(received, r => Assert.Equal(r.JobId.StartsWith("a-", StringComparison.Ordinal) ? "owner-a" : r.JobId.StartsWith("b-", StringComparison.Ordinal) ? "owner-b" : null, r.GroupId));
        if (!SupportsFairShare)
        {
            Assert.Equal(["a-0", "a-1", "a-2", "a-3", "a-4", "a-5", "b-0", "b-1", "none"], ids);
            return;
        }

        // Owner A's backlog does not hold the late groups back: each is served within a round of A's first message after them.
        Assert.InRange(ids.IndexOf("b-0"), 1, 3);
        Assert.InRange(ids.IndexOf("none"), 1, 4);
        Assert.InRange(ids.IndexOf("b-1"), ids.IndexOf("b-0") + 1, 6);
        Assert.Equal("a-5", ids[^1]);
    }

    [ComplianceFact]
    public async Task GetPositionAsync_ReadyMessages_NumberThemInTheOrderTheyAreDelivered()
    {
        var queue = await NewQueueAsync();
        var messages = new (string Id, string? Group, JobPriority Priority)[]
        {
            ("a-0", "a", JobPriority.Normal), ("a-1", "a", JobPriority.Normal), ("a-2", "a", JobPriority.Normal),
            ("b-0", "b", JobPriority.Normal), ("none", null, JobPriority.Normal), ("a-3", "a", JobPriority.High),
            ("b-1", "b", JobPriority.Low), ("b-2", "b", JobPriority.Normal),
        };
        foreach (var (id, group, priority) in messages)
        {
            await queue.EnqueueAsync(new QueueMessage(id) { GroupId = group }, new EnqueueOptions { Priority = priority });
        }

        var positions = new Dictionary<string, long?>();
        foreach (var (id, _, _) in messages)
        {
            positions[id] = await queue.GetPositionAsync(id);
        }

        if (!SupportsQueuePosition)
        {
            Assert.All(positions.Values, p => Assert.Null(p));
            return;
        }

        Assert.Equal(Enumerable.Range(0, messages.Length).Select(i => (long?)i), positions.Values.Order());
        Assert.Equal(0, positions["a-3"]);
        Assert.Equal(messages.Length - 1, positions["b-1"]);
        var delivered = new List<string>();
        for (var i = 0; i < messages.Length; i++)
        {
            var lease = await ReceiveOneAsync(queue);
            delivered.Add(lease.Message.JobId);
            Assert.Null(await queue.GetPositionAsync(lease.Message.MessageId));
            await lease.CompleteAsync();
        }

        Assert.Equal(positions.OrderBy(p => p.Value).Select(p => p.Key), delivered);
    }

    [ComplianceFact]
    public async Task GetPositionAsync_DelayedOrUnknownMessage_IsNull()
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("later"), new EnqueueOptions { Delay = TimeSpan.FromMinutes(5) });
        await queue.EnqueueAsync(new QueueMessage("now"));

        Assert.Null(await queue.GetPositionAsync("later"));
        Assert.Null(await queue.GetPositionAsync("unknown"));
        Assert.Equal(SupportsQueuePosition ? 0 : null, await queue.GetPositionAsync("now"));
    }

    [ComplianceFact]
    public async Task ReceiveAsync_BatchOfMixedPriorities_IsOrderedByPriority()
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("low"), new EnqueueOptions { Priority = JobPriority.Low });
        await queue.EnqueueAsync(new QueueMessage("normal"));
        await queue.EnqueueAsync(new QueueMessage("high"), new EnqueueOptions { Priority = JobPriority.High });

        var batch = await ReceiveBatchAsync(queue, ask: 3, expected: 3);

        if (!SupportsPriorityOrdering)
        {
            // No order by priority to check: the batch is in queue order, each message with the priority it was sent with.
            Assert.Equal([("low", JobPriority.Low), ("normal", JobPriority.Normal), ("high", JobPriority.High)], batch.Select(l => (l.Message.JobId, l.Priority)));
            await CompleteAllAsync(batch);
            return;
        }

        Assert.Equal(["high", "normal", "low"], batch.Select(l => l.Message.JobId));
        await CompleteAllAsync(batch);
    }

    [ComplianceFact]
    public async Task ReceiveAsync_ZeroWaitOnEmptyQueue_ReturnsEmptyAtOnce()
    {
        var queue = await NewQueueAsync();

        var leases = await WithinAsync(queue.ReceiveAsync(5, TimeSpan.Zero).AsTask(), "A receive with no wait on an empty queue");

        Assert.Empty(leases);
    }

    [ComplianceFact]
    public Task ReceiveAsync_WaitingWhenMessageEnqueued_WakesWithIt() => ReceiveAsync_WaitingWhenMessageEnqueued_WakesWithItCore(enqueueOnPeer: false);

    [ComplianceFact]
    public Task ReceiveAsync_WaitingWhenMessageEnqueuedOnPeer_WakesWithIt() => ReceiveAsync_WaitingWhenMessageEnqueued_WakesWithItCore(enqueueOnPeer: true);

    private async Task ReceiveAsync_WaitingWhenMessageEnqueued_WakesWithItCore(bool enqueueOnPeer)
    {
        var queue = await NewQueueAsync();
        var peer = await NewPeerAsync(queue);

        var receive = queue.ReceiveAsync(1, LongWait).AsTask();
        Assert.False(receive.IsCompleted, "A receive on an empty queue returned before anything was enqueued.");
        await (enqueueOnPeer ? peer : queue).EnqueueAsync(new QueueMessage("job-1"));

        var leases = await WithinAsync(receive, "A waiting receive after an enqueue");
        var lease = Assert.Single(leases);
        Assert.Equal("job-1", lease.Message.JobId);
        await lease.CompleteAsync();
    }

    [ComplianceFact]
    public async Task ReceiveAsync_WaitingOnPeerWhenMessageEnqueued_WakesWithIt()
    {
        var queue = await NewQueueAsync();
        var peer = await NewPeerAsync(queue);

        var receive = peer.ReceiveAsync(1, LongWait).AsTask();
        await queue.EnqueueAsync(new QueueMessage("job-1"));

        var lease = Assert.Single(await WithinAsync(receive, "A waiting receive on the peer after an enqueue"));
        Assert.Equal("job-1", lease.Message.JobId);
        await lease.CompleteAsync();
    }

    [ComplianceFact]
    public async Task ReceiveAsync_SeveralWaitingReceivers_EachMessageGoesToExactlyOne()
    {
        var queue = await NewQueueAsync(TimeSpan.FromHours(1));
        var peer = await NewPeerAsync(queue);
        var receives = new[] { queue, peer, queue, peer }.Select(q => q.ReceiveAsync(1, LongWait).AsTask()).ToArray();

        for (var i = 0; i < receives.Length; i++)
        {
            await queue.EnqueueAsync(new QueueMessage($"job-{i}"));
        }

        var leases = (await WithinAsync(Task.WhenAll(receives), "Four waiting receives after four enqueues")).SelectMany(l => l).ToList();
        Assert.Equal(Enumerable.Range(0, 4).Select(i => $"job-{i}"), leases.Select(l => l.Message.JobId).Order(StringComparer.Ordinal));
        await CompleteAllAsync(leases);
    }

    [ComplianceFact]
    public async Task ReceiveAsync_WaitCanceled_ThrowsAndLosesNoLaterMessage()
    {
        var queue = await NewQueueAsync();
        using var cts = new CancellationTokenSource();
        var receive = queue.ReceiveAsync(1, LongWait, cts.Token).AsTask();

        await cts.CancelAsync();

        await WithinAsync(Assert.ThrowsAnyAsync<OperationCanceledException>(() => receive), "A canceled receive");
        await queue.EnqueueAsync(new QueueMessage("job-1"));
        var lease = await ReceiveOneAsync(queue);
        Assert.Equal("job-1", lease.Message.JobId);
        await lease.CompleteAsync();
    }

    [ComplianceFact]
    public async Task ReceiveAsync_MaxMessages_ReturnsBatchesNoLargerThanAsked()
    {
        var queue = await NewQueueAsync();
        for (var i = 0; i < 5; i++)
        {
            await queue.EnqueueAsync(new QueueMessage($"job-{i}"));
        }

        var first = await ReceiveBatchAsync(queue, ask: 3, expected: 3);
        var second = await ReceiveBatchAsync(queue, ask: 10, expected: 2);
        var third = await queue.ReceiveAsync(10, TimeSpan.Zero);

        Assert.Equal(["job-0", "job-1", "job-2"], first.Select(l => l.Message.JobId));
        Assert.Equal(["job-3", "job-4"], second.Select(l => l.Message.JobId));
        Assert.Empty(third);
        await CompleteAllAsync([.. first, .. second]);
    }

    [ComplianceFact]
    public Task ReceiveAsync_MaxMessagesZero_ThrowsArgumentOutOfRange() => ReceiveAsync_MaxMessagesBelowOne_ThrowsArgumentOutOfRangeCore(0);

    [ComplianceFact]
    public Task ReceiveAsync_MaxMessagesNegative_ThrowsArgumentOutOfRange() => ReceiveAsync_MaxMessagesBelowOne_ThrowsArgumentOutOfRangeCore(-1);

    private async Task ReceiveAsync_MaxMessagesBelowOne_ThrowsArgumentOutOfRangeCore(int maxMessages)
    {
        var queue = await NewQueueAsync();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.ReceiveAsync(maxMessages, TimeSpan.Zero).AsTask());
    }

    [ComplianceFact]
    public async Task EnqueueAsync_NullMessage_ThrowsArgumentNull()
    {
        var queue = await NewQueueAsync();

        await Assert.ThrowsAsync<ArgumentNullException>(() => queue.EnqueueAsync(null!).AsTask());
    }

    [ComplianceFact]
    public async Task EnqueueAsync_WithDelay_IsReceivableOnlyAfterTheDelay()
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job-1"), new EnqueueOptions { Delay = ShortDelay });

        await AssertEmptyAsync(queue, "a message before its delay passed");
        await AdvanceTimeAsync(ShortDelay - TimeSpan.FromSeconds(1));
        await AssertEmptyAsync(queue, "a message one second before its delay passed");
        await AdvanceTimeAsync(TimeSpan.FromSeconds(1));

        var lease = await ReceiveOneAsync(queue);
        Assert.Equal("job-1", lease.Message.JobId);
        Assert.Equal(1, lease.DeliveryCount);
        await lease.CompleteAsync();
    }

    [ComplianceFact]
    public async Task EnqueueAsync_DelayedMessage_DoesNotHoldBackAReadyOneBehindIt()
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("delayed"), new EnqueueOptions { Delay = ShortDelay, Priority = JobPriority.High });
        await queue.EnqueueAsync(new QueueMessage("ready"));

        var lease = await ReceiveOneAsync(queue);

        Assert.Equal("ready", lease.Message.JobId);
        await lease.CompleteAsync();
    }

    [ComplianceFact]
    public async Task ReceiveAsync_WaitingWhenDelayedMessageFallsDue_WakesWithIt()
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job-1"), new EnqueueOptions { Delay = ShortDelay });
        var receive = queue.ReceiveAsync(1, LongWait).AsTask();

        await AdvanceTimeAsync(ShortDelay);

        var lease = Assert.Single(await WithinAsync(receive, "A waiting receive when a delayed message fell due"));
        Assert.Equal("job-1", lease.Message.JobId);
        await lease.CompleteAsync();
    }

    [ComplianceFact]
    public async Task ReceiveAsync_LeaseExpired_RedeliversWithDeliveryCountRaised()
    {
        var queue = await NewQueueAsync();
        var enqueuedAt = Time.GetUtcNow();
        await queue.EnqueueAsync(new QueueMessage("job-1"), new EnqueueOptions { Priority = JobPriority.High });
        var first = await ReceiveOneAsync(queue);
        Assert.Equal(1, first.DeliveryCount);

        await AdvanceTimeAsync(LeaseDuration - TimeSpan.FromSeconds(1));
        await AssertEmptyAsync(queue, "a message whose lease has not expired");
        await AdvanceTimeAsync(TimeSpan.FromSeconds(2));

        var second = await ReceiveOneAsync(queue);
        Assert.Equal("job-1", second.Message.JobId);
        Assert.Equal(2, second.DeliveryCount);
        Assert.Equal(JobPriority.High, second.Priority);
        AssertClose(enqueuedAt, second.EnqueuedAt, "EnqueuedAt of a redelivered message");
        await second.CompleteAsync();
    }

    [ComplianceFact]
    public async Task RenewAsync_BeforeExpiry_ExtendsLockedUntilAndPreventsRedelivery()
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job-1"));
        var lease = await ReceiveOneAsync(queue);
        var lockedUntil = lease.LockedUntil;
        var step = LeaseDuration * 2 / 3;

        await AdvanceTimeAsync(step);
        await lease.RenewAsync();

        Assert.True(
            lease.LockedUntil >= lockedUntil + step - ClockTolerance,
            $"LockedUntil moved from {lockedUntil:O} to {lease.LockedUntil:O}; a renewal {step} later should move it at least that far.");
        await AdvanceTimeAsync(step);
        await AssertEmptyAsync(queue, "a message whose lease was renewed");
        await lease.RenewAsync();
        await AdvanceTimeAsync(step);
        await AssertEmptyAsync(queue, "a message whose lease was renewed twice");

        await lease.CompleteAsync();
        await AdvanceTimeAsync(LeaseDuration * 2);
        await AssertEmptyAsync(queue, "a completed message");
    }

    [ComplianceFact]
    public async Task AbandonAsync_NoDelay_MakesMessageReceivableAgainWithCountRaised()
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job-1"));
        var first = await ReceiveOneAsync(queue);

        await first.AbandonAsync();

        var second = await ReceiveOneAsync(queue);
        Assert.Equal("job-1", second.Message.JobId);
        Assert.Equal(2, second.DeliveryCount);
        await second.CompleteAsync();
    }

    [ComplianceFact]
    public async Task AbandonAsync_WithDelay_MakesMessageReceivableOnlyAfterTheDelay()
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job-1"));
        var first = await ReceiveOneAsync(queue);

        await first.AbandonAsync(ShortDelay);

        await AssertEmptyAsync(queue, "a message abandoned with a delay, before the delay passed");
        if (ReportsAllDepthFigures)
        {
            await AssertDepthAsync(queue, new QueueDepth(0, 1, 0, 0));
        }

        await AdvanceTimeAsync(ShortDelay);
        var second = await ReceiveOneAsync(queue);
        Assert.Equal("job-1", second.Message.JobId);
        Assert.Equal(2, second.DeliveryCount);
        await second.CompleteAsync();
    }

    [ComplianceFact]
    public async Task DeferAsync_NoDelay_MakesMessageReceivableAgainWithTheSameCount()
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job-1"));
        var first = await ReceiveOneAsync(queue);
        await first.AbandonAsync();
        var second = await ReceiveOneAsync(queue);
        Assert.Equal(2, second.DeliveryCount);

        await second.DeferAsync();

        // The deferred delivery is not counted; the next abandon is.
        var third = await ReceiveOneAsync(queue);
        Assert.Equal(("job-1", 2), (third.Message.JobId, third.DeliveryCount));
        await third.AbandonAsync();
        var fourth = await ReceiveOneAsync(queue);
        Assert.Equal(3, fourth.DeliveryCount);
        await fourth.CompleteAsync();
    }

    [ComplianceFact]
    public async Task DeferAsync_WithDelay_MakesMessageReceivableOnlyAfterTheDelayWithTheSameCount()
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job-1"));
        var first = await ReceiveOneAsync(queue);

        await first.DeferAsync(ShortDelay);

        await AssertEmptyAsync(queue, "a message deferred with a delay, before the delay passed");
        await AdvanceTimeAsync(ShortDelay);
        var second = await ReceiveOneAsync(queue);
        Assert.Equal(("job-1", 1), (second.Message.JobId, second.DeliveryCount));
        await second.CompleteAsync();
    }

    [ComplianceFact]
    public async Task AbandonAsync_DelayLongerThanLease_IsNotRedeliveredWhenTheOldLeaseWouldHaveExpired()
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job-1"));
        var first = await ReceiveOneAsync(queue);

        await first.AbandonAsync(LeaseDuration * 3);
        await AdvanceTimeAsync(LeaseDuration * 2);

        await AssertEmptyAsync(queue, "a message abandoned with a delay longer than its lease");
        await AdvanceTimeAsync(LeaseDuration);
        var second = await ReceiveOneAsync(queue);
        Assert.Equal(2, second.DeliveryCount);
        await second.CompleteAsync();
    }

    [ComplianceFact]
    public async Task DisposeAsync_UnsettledLease_ReturnsMessageAtOnce()
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job-1"));
        var first = await ReceiveOneAsync(queue);

        await first.DisposeAsync();

        var second = await ReceiveOneAsync(queue);
        Assert.Equal("job-1", second.Message.JobId);
        Assert.Equal(2, second.DeliveryCount);
        await second.CompleteAsync();
    }

    [ComplianceFact]
    public async Task DisposeAsync_SettledLease_DoesNotReturnTheMessage()
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("completed"));
        await queue.EnqueueAsync(new QueueMessage("dead"));
        var completed = await ReceiveOneAsync(queue);
        var dead = await ReceiveOneAsync(queue);

        await completed.CompleteAsync();
        await dead.DeadLetterAsync("bad");
        await completed.DisposeAsync();
        await dead.DisposeAsync();

        await AssertEmptyAsync(queue, "a settled message after its lease was disposed");
        Assert.Single(await queue.ListDeadLettersAsync());
    }

    [ComplianceFact]
    public async Task DeadLetterAsync_WithReason_IsListedAndNotReceivable()
    {
        var queue = await NewQueueAsync();
        var peer = await NewPeerAsync(queue);
        await queue.EnqueueAsync(new QueueMessage("job-1"));
        var lease = await ReceiveOneAsync(queue);
        await AdvanceTimeAsync(TimeSpan.FromSeconds(5));
        var deadLetteredAt = Time.GetUtcNow();

        await lease.DeadLetterAsync("attempts_exhausted", "Every attempt failed.");
        await AdvanceTimeAsync(LeaseDuration * 2);

        await AssertEmptyAsync(queue, "a dead-lettered message");
        var deadLetter = Assert.Single(await peer.ListDeadLettersAsync());
        Assert.Equal("job-1", deadLetter.Message.JobId);
        Assert.Equal("job-1", deadLetter.Message.MessageId);
        Assert.Equal("attempts_exhausted", deadLetter.Reason);
        Assert.Equal("Every attempt failed.", deadLetter.Description);
        Assert.Equal(1, deadLetter.DeliveryCount);
        AssertClose(deadLetteredAt, deadLetter.DeadLetteredAt, "DeadLetteredAt");
    }

    [ComplianceFact]
    public async Task DeadLetterAsync_NoDescription_IsListedWithNullDescriptionAndItsDeliveryCount()
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job-1"));
        await (await ReceiveOneAsync(queue)).AbandonAsync();
        var lease = await ReceiveOneAsync(queue);

        await lease.DeadLetterAsync("generator_failed");

        var deadLetter = Assert.Single(await queue.ListDeadLettersAsync());
        Assert.Equal("generator_failed", deadLetter.Reason);
        Assert.Null(deadLetter.Description);
        Assert.Equal(2, deadLetter.DeliveryCount);
    }

    [ComplianceFact]
    public Task DeadLetterAsync_EmptyReason_ThrowsAndKeepsTheLease() => DeadLetterAsync_MissingReason_ThrowsAndKeepsTheLeaseCore(string.Empty);

    [ComplianceFact]
    public Task DeadLetterAsync_NullReason_ThrowsAndKeepsTheLease() => DeadLetterAsync_MissingReason_ThrowsAndKeepsTheLeaseCore(null);

    private async Task DeadLetterAsync_MissingReason_ThrowsAndKeepsTheLeaseCore(string? reason)
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job-1"));
        var lease = await ReceiveOneAsync(queue);

        await Assert.ThrowsAnyAsync<ArgumentException>(() => lease.DeadLetterAsync(reason!).AsTask());

        Assert.Empty(await queue.ListDeadLettersAsync());
        await lease.CompleteAsync();
        await AssertEmptyAsync(queue, "a completed message");
    }

    [ComplianceFact]
    public async Task ListDeadLettersAsync_SeveralDeadLetters_ListsOldestFirstUpToMaxCount()
    {
        var queue = await NewQueueAsync();
        foreach (var id in new[] { "job-a", "job-b", "job-c" })
        {
            await queue.EnqueueAsync(new QueueMessage(id));
        }

        foreach (var id in new[] { "job-a", "job-b", "job-c" })
        {
            var lease = await ReceiveOneAsync(queue);
            Assert.Equal(id, lease.Message.JobId);
            await lease.DeadLetterAsync("reason-" + id);
            await AdvanceTimeAsync(TimeSpan.FromSeconds(1));
        }

        var all = await queue.ListDeadLettersAsync();
        var firstTwo = await queue.ListDeadLettersAsync(2);

        Assert.Equal(["job-a", "job-b", "job-c"], all.Select(d => d.Message.JobId));
        Assert.Equal(["reason-job-a", "reason-job-b", "reason-job-c"], all.Select(d => d.Reason));
        Assert.Equal(["job-a", "job-b"], firstTwo.Select(d => d.Message.JobId));
    }

    [ComplianceFact]
    public async Task ResubmitDeadLetterAsync_DeadLetter_IsReceivableAgainWithCountReset()
    {
        var queue = await NewQueueAsync();
        var peer = await NewPeerAsync(queue);
        await queue.EnqueueAsync(new QueueMessage("job-1") { Headers = new Dictionary<string, string> { ["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } });
        await (await ReceiveOneAsync(queue)).AbandonAsync();
        await (await ReceiveOneAsync(queue)).DeadLetterAsync("attempts_exhausted");

        Assert.True(await peer.ResubmitDeadLetterAsync("job-1"));

        Assert.Empty(await queue.ListDeadLettersAsync());
        var lease = await ReceiveOneAsync(queue);
        Assert.Equal("job-1", lease.Message.JobId);
        Assert.Equal(1, lease.DeliveryCount);
        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", lease.Message.Headers?["traceparent"]);
        Assert.False(await queue.ResubmitDeadLetterAsync("job-1"));
        await lease.CompleteAsync();
    }

    [ComplianceFact]
    public async Task DeleteDeadLetterAsync_DeadLetter_IsGoneForGoodAndOthersStay()
    {
        var queue = await NewQueueAsync();
        var peer = await NewPeerAsync(queue);
        await queue.EnqueueAsync(new QueueMessage("job-1"));
        await queue.EnqueueAsync(new QueueMessage("job-2"));
        await (await ReceiveOneAsync(queue)).DeadLetterAsync("attempts_exhausted");
        await (await ReceiveOneAsync(queue)).DeadLetterAsync("attempts_exhausted");

        Assert.True(await peer.DeleteDeadLetterAsync("job-1"));

        Assert.Equal(["job-2"], (await queue.ListDeadLettersAsync()).Select(d => d.Message.MessageId));
        Assert.False(await queue.DeleteDeadLetterAsync("job-1"));
        Assert.False(await queue.ResubmitDeadLetterAsync("job-1"));
        Assert.False(await queue.DeleteDeadLetterAsync("no-such-message"));
        await AdvanceTimeAsync(LeaseDuration * 2);
        Assert.Empty(await queue.ReceiveAsync(10, TimeSpan.Zero));
    }

    [ComplianceFact]
    public async Task ResubmitDeadLetterAsync_UnknownId_ReturnsFalse()
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job-1"));

        Assert.False(await queue.ResubmitDeadLetterAsync("no-such-message"));
        Assert.False(await queue.ResubmitDeadLetterAsync("job-1"));

        var lease = await ReceiveOneAsync(queue);
        Assert.Equal(1, lease.DeliveryCount);
        await lease.CompleteAsync();
    }

    [ComplianceFact]
    public async Task GetDepthAsync_MessagesInEveryState_CountsEach()
    {
        var queue = await NewQueueAsync();
        var peer = await NewPeerAsync(queue);
        await AssertDepthAsync(queue, new QueueDepth(0, 0, 0, 0));
        await queue.EnqueueAsync(new QueueMessage("leased"));
        await queue.EnqueueAsync(new QueueMessage("dead"));
        await queue.EnqueueAsync(new QueueMessage("ready-1"));
        await queue.EnqueueAsync(new QueueMessage("ready-2"));
        await queue.EnqueueAsync(new QueueMessage("delayed-1"), new EnqueueOptions { Delay = ShortDelay });
        await queue.EnqueueAsync(new QueueMessage("delayed-2"), new EnqueueOptions { Delay = ShortDelay * 2 });
        await queue.EnqueueAsync(new QueueMessage("delayed-3"), new EnqueueOptions { Delay = ShortDelay * 3 });
        var leased = await ReceiveOneAsync(queue);
        Assert.Equal("leased", leased.Message.JobId);
        var dead = await ReceiveOneAsync(queue);
        Assert.Equal("dead", dead.Message.JobId);
        await dead.DeadLetterAsync("bad");

        await AssertDepthAsync(queue, new QueueDepth(Ready: 2, Delayed: 3, Leased: 1, DeadLettered: 1));
        await AssertDepthAsync(peer, new QueueDepth(Ready: 2, Delayed: 3, Leased: 1, DeadLettered: 1));

        await leased.CompleteAsync();
        await AssertDepthAsync(queue, new QueueDepth(Ready: 2, Delayed: 3, Leased: 0, DeadLettered: 1));
    }

    [ComplianceFact]
    public async Task ReceiveAsync_MessageWithHeadersAndOwnMessageId_RoundTripsThem()
    {
        var queue = await NewQueueAsync();
        var headers = new Dictionary<string, string>
        {
            ["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ["tracestate"] = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
            ["x-empty"] = string.Empty,
            ["x-unicode"] = "façade \u2603 \"quoted\" = ; , \n",
        };
        await queue.EnqueueAsync(new QueueMessage("job-1") { MessageId = "job-1:retry-2", Headers = headers });

        var lease = await ReceiveOneAsync(queue);

        Assert.Equal("job-1", lease.Message.JobId);
        Assert.Equal("job-1:retry-2", lease.Message.MessageId);
        Assert.NotNull(lease.Message.Headers);
        Assert.Equal(headers.OrderBy(h => h.Key, StringComparer.Ordinal), lease.Message.Headers!.OrderBy(h => h.Key, StringComparer.Ordinal));
        await lease.CompleteAsync();
    }

    [ComplianceFact]
    public async Task ReceiveAsync_MessageWithoutHeaders_HasNoHeaders()
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job-1"));

        var lease = await ReceiveOneAsync(queue);

        Assert.True(lease.Message.Headers is null || lease.Message.Headers.Count == 0, "A message enqueued without headers came back with some.");
        await lease.CompleteAsync();
    }

    [ComplianceFact]
    public Task CompleteAsync_StaleLeaseAfterRedelivery_DoesNotTouchTheNewHoldersMessage() => Settle_StaleLeaseAfterRedelivery_DoesNotTouchTheNewHoldersMessageCore(Settlement.Complete);

    [ComplianceFact]
    public Task AbandonAsync_StaleLeaseAfterRedelivery_DoesNotTouchTheNewHoldersMessage() => Settle_StaleLeaseAfterRedelivery_DoesNotTouchTheNewHoldersMessageCore(Settlement.Abandon);

    [ComplianceFact]
    public Task DeadLetterAsync_StaleLeaseAfterRedelivery_DoesNotTouchTheNewHoldersMessage() => Settle_StaleLeaseAfterRedelivery_DoesNotTouchTheNewHoldersMessageCore(Settlement.DeadLetter);

    [ComplianceFact]
    public Task DisposeAsync_StaleLeaseAfterRedelivery_DoesNotTouchTheNewHoldersMessage() => Settle_StaleLeaseAfterRedelivery_DoesNotTouchTheNewHoldersMessageCore(Settlement.Dispose);

    private async Task Settle_StaleLeaseAfterRedelivery_DoesNotTouchTheNewHoldersMessageCore(Settlement settlement)
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job-1"));
        var stale = await ReceiveOneAsync(queue);
        await AdvanceTimeAsync(LeaseDuration + TimeSpan.FromSeconds(1));
        var current = await ReceiveOneAsync(queue);
        Assert.Equal(2, current.DeliveryCount);

        try
        {
            switch (settlement)
            {
                case Settlement.Complete:
                    await stale.CompleteAsync();
                    break;
                case Settlement.Abandon:
                    await stale.AbandonAsync();
                    break;
                case Settlement.DeadLetter:
                    await stale.DeadLetterAsync("stale");
                    break;
                default:
                    await stale.DisposeAsync();
                    break;
            }
        }
        catch (LeaseLostException e)
        {
            Assert.Equal("job-1", e.MessageId);
        }

        await AssertEmptyAsync(queue, "a message held by its second receiver after the first, stale lease was settled");
        Assert.Empty(await queue.ListDeadLettersAsync());
        if (ReportsAllDepthFigures)
        {
            await AssertDepthAsync(queue, new QueueDepth(0, 0, 1, 0));
        }

        // The current holder still owns the message: abandoning it makes it receivable a third time.
        await current.AbandonAsync();
        var third = await ReceiveOneAsync(queue);
        Assert.Equal("job-1", third.Message.JobId);
        Assert.Equal(3, third.DeliveryCount);
        await third.CompleteAsync();
    }

    [ComplianceFact]
    public async Task RenewAsync_StaleLeaseAfterRedelivery_ThrowsLeaseLost()
    {
        var queue = await NewQueueAsync();
        await queue.EnqueueAsync(new QueueMessage("job-1"));
        var stale = await ReceiveOneAsync(queue);
        await AdvanceTimeAsync(LeaseDuration + TimeSpan.FromSeconds(1));
        var current = await ReceiveOneAsync(queue);

        var e = await Assert.ThrowsAsync<LeaseLostException>(() => stale.RenewAsync().AsTask());

        Assert.Equal("job-1", e.MessageId);
        await AssertEmptyAsync(queue, "a message held by its second receiver");
        await current.CompleteAsync();
        await AdvanceTimeAsync(LeaseDuration * 2);
        await AssertEmptyAsync(queue, "a completed message");
    }

    [ComplianceFact]
    public async Task ReceiveAsync_ConcurrentReceiversOnQueueAndPeer_DeliverEachMessageExactlyOnceToOneHolder()
    {
        const int count = 120;
        var queue = await NewQueueAsync(TimeSpan.FromHours(1));
        var peer = await NewPeerAsync(queue);
        for (var i = 0; i < count; i++)
        {
            await (i % 2 == 0 ? queue : peer).EnqueueAsync(new QueueMessage($"job-{i:D3}"));
        }

        var held = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
        var deliveries = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var overlaps = new ConcurrentQueue<string>();
        var total = 0;
        using var done = new CancellationTokenSource();
        done.CancelAfter(RealTimeout * 3);

        async Task ReceiveUntilDrainedAsync(IJobQueue receiver, int maxMessages)
        {
            while (!done.IsCancellationRequested)
            {
                IReadOnlyList<IQueueLease> leases;
                try
                {
                    leases = await receiver.ReceiveAsync(maxMessages, LongWait, done.Token);
                }
                catch (OperationCanceledException) when (done.IsCancellationRequested)
                {
                    return;
                }

                foreach (var lease in leases)
                {
                    if (!held.TryAdd(lease.Message.JobId, 0))
                    {
                        overlaps.Enqueue(lease.Message.JobId);
                    }

                    deliveries.AddOrUpdate(lease.Message.JobId, 1, (_, n) => n + 1);
                }

                await Task.Yield();
                foreach (var lease in leases)
                {
                    held.TryRemove(lease.Message.JobId, out _);
                    await lease.CompleteAsync();
                    if (Interlocked.Increment(ref total) == count)
                    {
                        await done.CancelAsync();
                    }
                }
            }
        }

        await Task.WhenAll(
            Task.Run(() => ReceiveUntilDrainedAsync(queue, 1)),
            Task.Run(() => ReceiveUntilDrainedAsync(queue, 3)),
            Task.Run(() => ReceiveUntilDrainedAsync(queue, 1)),
            Task.Run(() => ReceiveUntilDrainedAsync(peer, 1)),
            Task.Run(() => ReceiveUntilDrainedAsync(peer, 4)),
            Task.Run(() => ReceiveUntilDrainedAsync(peer, 1)));

        Assert.Empty(overlaps);
        Assert.Equal(count, deliveries.Count);
        Assert.All(deliveries, d => Assert.Equal(1, d.Value));
        Assert.Equal(count, Volatile.Read(ref total));
        await AssertEmptyAsync(queue, "a drained queue");
        await AssertDepthAsync(queue, new QueueDepth(0, 0, 0, 0));
    }

    [ComplianceFact]
    public async Task ReceiveAsync_ConcurrentReceiversWhileLeasesExpire_NeverHandOneMessageToTwoHolders()
    {
        const int count = 20;
        var queue = await NewQueueAsync();
        var peer = await NewPeerAsync(queue);
        for (var i = 0; i < count; i++)
        {
            await queue.EnqueueAsync(new QueueMessage($"job-{i:D2}"));
        }

        // Everything is received once and then expires; the redelivered copies are then raced for by both clients.
        var firstRound = new List<IQueueLease>();
        while (firstRound.Count < count)
        {
            firstRound.AddRange(await WithinAsync(queue.ReceiveAsync(count, LongWait).AsTask(), "Receiving the first round"));
        }

        await AdvanceTimeAsync(LeaseDuration + TimeSpan.FromSeconds(1));
        var secondRound = new ConcurrentBag<IQueueLease>();
        using var done = new CancellationTokenSource(RealTimeout);
        await Task.WhenAll(new[] { queue, peer, queue, peer }.Select(receiver => Task.Run(async () =>
        {
            while (secondRound.Count < count && !done.IsCancellationRequested)
            {
                foreach (var lease in await receiver.ReceiveAsync(2, TimeSpan.Zero, done.Token))
                {
                    secondRound.Add(lease);
                }

                await Task.Yield();
            }
        })));

        Assert.Equal(count, secondRound.Count);
        Assert.Equal(count, secondRound.Select(l => l.Message.JobId).Distinct(StringComparer.Ordinal).Count());
        Assert.All(secondRound, l => Assert.Equal(2, l.DeliveryCount));
        await CompleteAllAsync([.. secondRound]);
        await AssertDepthAsync(queue, new QueueDepth(0, 0, 0, 0));
    }

    /// <summary>How a test settles a lease.</summary>
    private enum Settlement
    {
        /// <summary><see cref="IQueueLease.CompleteAsync"/>.</summary>
        Complete,

        /// <summary><see cref="IQueueLease.AbandonAsync"/>.</summary>
        Abandon,

        /// <summary><see cref="IQueueLease.DeadLetterAsync"/>.</summary>
        DeadLetter,

        /// <summary><see cref="IAsyncDisposable.DisposeAsync"/> without settling.</summary>
        Dispose,
    }

    /// <summary>Creates a tracked queue with <see cref="LeaseDuration"/> or the given lease.</summary>
    /// <param name="leaseDuration">The lease duration; null for <see cref="LeaseDuration"/>.</param>
    /// <returns>The queue.</returns>
    protected async Task<IJobQueue> NewQueueAsync(TimeSpan? leaseDuration = null) =>
        Track(await CreateQueueAsync(leaseDuration ?? LeaseDuration));

    /// <summary>Creates a tracked peer of <paramref name="queue"/>.</summary>
    /// <param name="queue">The queue.</param>
    /// <returns>The peer.</returns>
    protected async Task<IJobQueue> NewPeerAsync(IJobQueue queue) => Track(await CreatePeerQueueAsync(queue));

    /// <summary>
    /// Receives <paramref name="expected"/> ready messages, asking each time for at most what is left of
    /// <paramref name="ask"/>. A queue may return fewer than it was asked for even when more are ready (Service Bus's batch
    /// receive returns soon after the first message arrives), so this receives again until all arrived; every receive must
    /// stay within what it was asked for.
    /// </summary>
    /// <param name="queue">The queue.</param>
    /// <param name="ask">How many the first receive asks for.</param>
    /// <param name="expected">How many are ready.</param>
    /// <returns>The leases, in the order received.</returns>
    protected async Task<List<IQueueLease>> ReceiveBatchAsync(IJobQueue queue, int ask, int expected)
    {
        var leases = new List<IQueueLease>();
        for (var receive = 0; receive <= expected && leases.Count < expected; receive++)
        {
            var asked = ask - leases.Count;
            var received = await WithinAsync(queue.ReceiveAsync(asked, receive == 0 ? TimeSpan.Zero : LongWait).AsTask(), "Receiving messages that should be ready");
            Assert.InRange(received.Count, 0, asked);
            leases.AddRange(received);
        }

        return leases;
    }

    /// <summary>Receives exactly one message, waiting for it up to <see cref="ComplianceTestBase.RealTimeout"/> of real time.</summary>
    /// <param name="queue">The queue.</param>
    /// <returns>The lease.</returns>
    protected async Task<IQueueLease> ReceiveOneAsync(IJobQueue queue)
    {
        var leases = await WithinAsync(queue.ReceiveAsync(1, LongWait).AsTask(), "Receiving a message that should be ready");
        return Assert.Single(leases);
    }

    /// <summary>Asserts that nothing is receivable right now.</summary>
    /// <param name="queue">The queue.</param>
    /// <param name="what">What should not be receivable, for the failure message.</param>
    /// <returns>A task.</returns>
    protected async Task AssertEmptyAsync(IJobQueue queue, string what)
    {
        var leases = await WithinAsync(queue.ReceiveAsync(10, TimeSpan.Zero).AsTask(), "A receive with no wait");
        if (leases.Count > 0)
        {
            var ids = string.Join(", ", leases.Select(l => $"{l.Message.JobId} (delivery {l.DeliveryCount})"));
            await CompleteAllAsync(leases);
            Assert.Fail($"Expected nothing receivable ({what}), but received: {ids}.");
        }
    }

    private async Task AssertDepthAsync(IJobQueue queue, QueueDepth expected)
    {
        var actual = await queue.GetDepthAsync();
        if (ReportsAllDepthFigures)
        {
            Assert.Equal(expected, actual);
            return;
        }

        Assert.True(actual.Ready == -1 || actual.Ready == expected.Ready, $"Ready: expected {expected.Ready} or -1, got {actual.Ready}.");
        Assert.True(actual.Delayed == -1 || actual.Delayed == expected.Delayed, $"Delayed: expected {expected.Delayed} or -1, got {actual.Delayed}.");
        Assert.True(actual.Leased == -1 || actual.Leased == expected.Leased, $"Leased: expected {expected.Leased} or -1, got {actual.Leased}.");
        Assert.True(actual.DeadLettered == -1 || actual.DeadLettered == expected.DeadLettered, $"DeadLettered: expected {expected.DeadLettered} or -1, got {actual.DeadLettered}.");
    }

    private void AssertClose(DateTimeOffset expected, DateTimeOffset actual, string what) =>
        Assert.True(
            (actual - expected).Duration() <= ClockTolerance,
            $"{what}: expected {expected:O} (within {ClockTolerance.TotalMilliseconds} ms), got {actual:O}.");

    private static async Task CompleteAllAsync(IEnumerable<IQueueLease> leases)
    {
        foreach (var lease in leases)
        {
            await lease.CompleteAsync();
        }
    }
}
