namespace MediaGen.Testing;

/// <summary>
/// The <see cref="IJobEventStream"/> contract, written once. Every event stream's test project derives a class from
/// this one and says how to create a fresh, isolated stream (and a second client of it); the suite does the rest.
/// </summary>
/// <remarks>
/// A subscription may take a moment to become live on a distributed transport, so each test first publishes probe
/// events until the subscriber sees one; only then are the events under test published. Every wait is a bounded
/// wait on the enumerator, never a sleep.
/// </remarks>
public abstract class JobEventStreamComplianceTests : ComplianceTestBase
{
    /// <summary>The <see cref="JobEvent.Message"/> of the probe events the suite publishes to learn that a subscription is live.</summary>
    protected const string ProbeMessage = EventSubscription.ProbeMessage;

    /// <summary>Creates a fresh, isolated event stream.</summary>
    /// <returns>The stream.</returns>
    protected abstract ValueTask<IJobEventStream> CreateEventStreamAsync();

    /// <summary>
    /// Creates a second client of the same stream, as another process of a distributed deployment would hold.
    /// The default returns the same instance.
    /// </summary>
    /// <param name="stream">A stream from <see cref="CreateEventStreamAsync"/>.</param>
    /// <returns>The peer client.</returns>
    protected virtual ValueTask<IJobEventStream> CreatePeerEventStreamAsync(IJobEventStream stream) => ValueTask.FromResult(stream);

    [ComplianceFact]
    public async Task SubscribeAsync_EventsPublished_ArriveInPublishOrder()
    {
        var stream = await NewStreamAsync();
        var jobId = NewJobId();
        await using var subscription = await SubscribeLiveAsync(stream, stream, jobId);
        var published = new List<JobEvent> { Event(jobId, JobEventType.Started, JobStatus.Processing) };
        for (var i = 1; i <= 30; i++)
        {
            published.Add(Event(jobId, JobEventType.Progress, JobStatus.Processing) with { Progress = i / 30.0, Message = $"step {i}/30" });
        }

        published.Add(Event(jobId, JobEventType.Succeeded, JobStatus.Succeeded));

        foreach (var jobEvent in published)
        {
            await stream.PublishAsync(jobEvent);
        }

        var received = await subscription.NextAsync(published.Count);
        AssertReceived(published, received);
    }

    [ComplianceFact]
    public async Task OpenSubscriptionAsync_EventPublishedByAPeerRightAfter_IsDelivered()
    {
        // No probes: the contract is that the subscription is live when OpenSubscriptionAsync returns. Several rounds, so
        // a subscription that only becomes live a moment later is caught.
        var stream = await NewStreamAsync();
        var peer = await NewPeerAsync(stream);
        for (var round = 0; round < 10; round++)
        {
            var jobId = NewJobId();
            await using var events = await stream.OpenSubscriptionAsync(jobId);
            var published = Event(jobId, JobEventType.Succeeded, JobStatus.Succeeded);

            await peer.PublishAsync(published);

            Assert.True(await WithinAsync(events.MoveNextAsync().AsTask(), $"the event of round {round}"));
            Assert.Equal((jobId, JobEventType.Succeeded), (events.Current.JobId, events.Current.Type));
        }
    }

    [ComplianceFact]
    public async Task OpenSubscriptionAsync_DisposedTwiceUnread_LeavesTheStreamWorking()
    {
        var stream = await NewStreamAsync();
        var jobId = NewJobId();
        var unread = await stream.OpenSubscriptionAsync(jobId);
        await unread.DisposeAsync();
        await unread.DisposeAsync();
        await using var subscription = await SubscribeLiveAsync(stream, stream, jobId);

        var published = Event(jobId, JobEventType.Started, JobStatus.Processing);
        await stream.PublishAsync(published);

        AssertReceived([published], await subscription.NextAsync(1));
    }

    [ComplianceFact]
    public async Task SubscribeAsync_EveryField_RoundTrips()
    {
        var stream = await NewStreamAsync();
        var peer = await NewPeerAsync(stream);
        var jobId = NewJobId();
        await using var subscription = await SubscribeLiveAsync(stream, peer, jobId);
        var output = new JobEvent
        {
            JobId = jobId,
            OwnerId = "owner-ü",
            Type = JobEventType.OutputStored,
            Timestamp = Time.GetUtcNow().AddMilliseconds(375),
            Status = JobStatus.Processing,
            Attempt = 2,
            Progress = 0.875,
            Message = "stored output 1 of 2 — \"ok\"\n",
            Output = new JobOutput
            {
                Index = 1,
                Key = $"{jobId}/1.png",
                Url = new Uri($"https://cdn.example.test/media/{jobId}/1.png?sig=a%2Fb&e=1"),
                ContentType = "image/png",
                Size = 65_536,
                Width = 512,
                Height = 768,
                ThumbnailKey = $"{jobId}/1.thumb.png",
            },
        };
        var retrying = new JobEvent
        {
            JobId = jobId,
            OwnerId = "owner-ü",
            Type = JobEventType.Retrying,
            Timestamp = Time.GetUtcNow().AddSeconds(1),
            Status = JobStatus.Pending,
            Attempt = 2,
            Error = new JobError(MediaGenErrorCodes.ProviderRateLimited, "Slow down.", Retryable: true),
        };

        await peer.PublishAsync(output);
        await peer.PublishAsync(retrying);

        AssertReceived([output, retrying], await subscription.NextAsync(2));
    }

    [ComplianceFact]
    public async Task SubscribeAsync_OtherJobsEvents_AreNotDelivered()
    {
        var stream = await NewStreamAsync();
        var jobId = NewJobId();
        var otherJobId = NewJobId();
        await using var subscription = await SubscribeLiveAsync(stream, stream, jobId);

        for (var i = 0; i < 5; i++)
        {
            await stream.PublishAsync(Event(otherJobId, JobEventType.Progress, JobStatus.Processing) with { Progress = i / 5.0 });
        }

        var mine = Event(jobId, JobEventType.Canceled, JobStatus.Canceled);
        await stream.PublishAsync(mine);

        AssertReceived([mine], await subscription.NextAsync(1));
    }

    [ComplianceFact]
    public async Task SubscribeAsync_TwoSubscribers_BothSeeEveryEvent()
    {
        var stream = await NewStreamAsync();
        var peer = await NewPeerAsync(stream);
        var jobId = NewJobId();
        await using var first = await SubscribeLiveAsync(stream, stream, jobId);
        await using var second = await SubscribeLiveAsync(peer, stream, jobId);
        await using var third = await SubscribeLiveAsync(stream, stream, jobId);
        var published = new[]
        {
            Event(jobId, JobEventType.Started, JobStatus.Processing),
            Event(jobId, JobEventType.Progress, JobStatus.Processing) with { Progress = 0.5 },
            Event(jobId, JobEventType.Failed, JobStatus.Failed) with { Error = new JobError("generator_failed", "No.", false) },
        };

        foreach (var jobEvent in published)
        {
            await stream.PublishAsync(jobEvent);
        }

        AssertReceived(published, await first.NextAsync(3));
        AssertReceived(published, await second.NextAsync(3));
        AssertReceived(published, await third.NextAsync(3));
    }

    [ComplianceFact]
    public Task PublishAsync_OnPeer_ReachesSubscriberOfTheFirst() => PublishAsync_OnOneClient_ReachesSubscriberOfTheOtherCore(subscribeOnPeer: false);

    [ComplianceFact]
    public Task PublishAsync_OnFirst_ReachesSubscriberOfThePeer() => PublishAsync_OnOneClient_ReachesSubscriberOfTheOtherCore(subscribeOnPeer: true);

    private async Task PublishAsync_OnOneClient_ReachesSubscriberOfTheOtherCore(bool subscribeOnPeer)
    {
        var stream = await NewStreamAsync();
        var peer = await NewPeerAsync(stream);
        var (subscriber, publisher) = subscribeOnPeer ? (peer, stream) : (stream, peer);
        var jobId = NewJobId();
        await using var subscription = await SubscribeLiveAsync(subscriber, publisher, jobId);
        var published = new[]
        {
            Event(jobId, JobEventType.Started, JobStatus.Processing),
            Event(jobId, JobEventType.Succeeded, JobStatus.Succeeded),
        };

        foreach (var jobEvent in published)
        {
            await publisher.PublishAsync(jobEvent);
        }

        AssertReceived(published, await subscription.NextAsync(2));
    }

    [ComplianceFact]
    public async Task SubscribeAsync_EventsPublishedBeforeSubscribing_AreNotDeliveredLive()
    {
        var stream = await NewStreamAsync();
        var jobId = NewJobId();
        await stream.PublishAsync(Event(jobId, JobEventType.Queued, JobStatus.Pending) with { Message = "before" });

        await using var subscription = await SubscribeLiveAsync(stream, stream, jobId);
        var after = Event(jobId, JobEventType.Started, JobStatus.Processing) with { Message = "after" };
        await stream.PublishAsync(after);

        AssertReceived([after], await subscription.NextAsync(1));
    }

    [ComplianceFact]
    public async Task SubscribeAsync_TokenCanceled_EndsTheEnumeration()
    {
        var stream = await NewStreamAsync();
        var jobId = NewJobId();
        var subscription = await SubscribeLiveAsync(stream, stream, jobId);

        await subscription.CancelAsync();

        await WithinAsync(subscription.AssertEndedAsync(), "Ending a canceled subscription");
        await stream.PublishAsync(Event(jobId, JobEventType.Succeeded, JobStatus.Succeeded));
        await subscription.DisposeAsync();
    }

    [ComplianceFact]
    public async Task SubscribeAsync_OneOfTwoSubscribersCanceled_TheOtherStillReceives()
    {
        var stream = await NewStreamAsync();
        var jobId = NewJobId();
        var leaving = await SubscribeLiveAsync(stream, stream, jobId);
        await using var staying = await SubscribeLiveAsync(stream, stream, jobId);

        await leaving.CancelAsync();
        await WithinAsync(leaving.AssertEndedAsync(), "Ending a canceled subscription");
        await leaving.DisposeAsync();
        var jobEvent = Event(jobId, JobEventType.Succeeded, JobStatus.Succeeded);
        await stream.PublishAsync(jobEvent);

        AssertReceived([jobEvent], await staying.NextAsync(1));
    }

    [ComplianceFact]
    public async Task PublishAsync_NumbersEachJobsEventsFromOne()
    {
        var stream = await NewStreamAsync();
        var peer = await NewPeerAsync(stream);
        var jobId = NewJobId();
        var otherJobId = NewJobId();
        var published = new[]
        {
            Event(jobId, JobEventType.Queued, JobStatus.Pending),
            Event(jobId, JobEventType.Started, JobStatus.Processing),
            Event(jobId, JobEventType.Progress, JobStatus.Processing) with { Progress = 0.5 },
            Event(jobId, JobEventType.Succeeded, JobStatus.Succeeded),
        };

        await stream.PublishAsync(published[0]);
        await stream.PublishAsync(Event(otherJobId, JobEventType.Queued, JobStatus.Pending));
        await peer.PublishAsync(published[1]);
        await stream.PublishAsync(published[2]);
        await peer.PublishAsync(published[3]);

        var history = await stream.GetHistoryAsync(jobId, 0);
        Assert.Equal([1L, 2L, 3L, 4L], history.Select(e => e.Sequence));
        Assert.Equal(published, Unnumbered(history));
        Assert.Equal([1L], (await peer.GetHistoryAsync(otherJobId, 0)).Select(e => e.Sequence));
    }

    [ComplianceFact]
    public async Task GetHistoryAsync_AfterSequence_ReturnsOnlyLaterEvents()
    {
        var stream = await NewStreamAsync();
        var jobId = NewJobId();
        for (var i = 1; i <= 5; i++)
        {
            await stream.PublishAsync(Event(jobId, JobEventType.Progress, JobStatus.Processing) with { Progress = i / 5.0 });
        }

        var later = await stream.GetHistoryAsync(jobId, 3);

        Assert.Equal([4L, 5L], later.Select(e => e.Sequence));
        Assert.Equal([0.8, 1.0], later.Select(e => e.Progress!.Value));
        Assert.Empty(await stream.GetHistoryAsync(jobId, 5));
        Assert.Empty(await stream.GetHistoryAsync(NewJobId(), 0));
    }

    [ComplianceFact]
    public async Task GetHistoryAsync_AJobsUsualEvents_ReadBackWholeInOrder()
    {
        var stream = await NewStreamAsync();
        var jobId = NewJobId();
        var output = new JobOutput
        {
            Index = 0,
            Key = $"{jobId}/0.png",
            Url = new Uri($"/media/{jobId}/0.png?expires=1&signature=s", UriKind.Relative),
            ContentType = "image/png",
            Size = 4,
        };
        JobEvent[] published =
        [
            Event(jobId, JobEventType.Queued, JobStatus.Pending) with { Attempt = 0 },
            Event(jobId, JobEventType.Started, JobStatus.Processing),
            Event(jobId, JobEventType.OutputStored, JobStatus.Processing) with { Output = output, Timestamp = Time.GetUtcNow().AddMilliseconds(5) },
            Event(jobId, JobEventType.Succeeded, JobStatus.Succeeded) with { Timestamp = Time.GetUtcNow().AddMilliseconds(6) },
        ];
        foreach (var jobEvent in published)
        {
            await stream.PublishAsync(jobEvent);
        }

        var history = await stream.GetHistoryAsync(jobId, 0);

        Assert.Equal(published.Select((e, i) => e with { Sequence = i + 1 }), history);
    }

    [ComplianceFact]
    public async Task GetHistoryAsync_MoreEventsThanKept_KeepsTheLatest()
    {
        var stream = await NewStreamAsync();
        var jobId = NewJobId();
        var total = HistoryLength + 7;
        for (var i = 1; i <= total; i++)
        {
            await stream.PublishAsync(Event(jobId, JobEventType.Progress, JobStatus.Processing) with { Message = $"step {i}" });
        }

        var history = await stream.GetHistoryAsync(jobId, 0);

        Assert.Equal(HistoryLength, history.Count);
        Assert.Equal(Enumerable.Range(8, HistoryLength).Select(i => (long)i), history.Select(e => e.Sequence));
        Assert.Equal($"step {total}", history[^1].Message);
    }

    [ComplianceFact]
    public async Task SubscribeAsync_LiveEvents_CarryTheSequencesOfTheHistory()
    {
        var stream = await NewStreamAsync();
        var peer = await NewPeerAsync(stream);
        var jobId = NewJobId();
        await using var subscription = await SubscribeLiveAsync(stream, peer, jobId);
        var published = new[]
        {
            Event(jobId, JobEventType.Started, JobStatus.Processing),
            Event(jobId, JobEventType.Succeeded, JobStatus.Succeeded),
        };

        foreach (var jobEvent in published)
        {
            await peer.PublishAsync(jobEvent);
        }

        var received = await subscription.NextAsync(2);
        var history = await stream.GetHistoryAsync(jobId, 0);
        Assert.Equal(history.TakeLast(2), received);
        Assert.Equal(published, Unnumbered(received));
    }

    [ComplianceFact]
    public async Task GetHistoryAsync_NegativeSequence_Throws()
    {
        var stream = await NewStreamAsync();

        await Assert.ThrowsAnyAsync<ArgumentException>(() => stream.GetHistoryAsync(NewJobId(), -1).AsTask());
    }

    [ComplianceFact]
    public async Task PublishAsync_NoSubscriber_Completes()
    {
        var stream = await NewStreamAsync();

        await WithinAsync(stream.PublishAsync(Event(NewJobId(), JobEventType.Queued, JobStatus.Pending)).AsTask(), "Publishing with no subscriber");
    }

    [ComplianceFact]
    public async Task PublishAsync_NullEvent_ThrowsArgumentNull()
    {
        var stream = await NewStreamAsync();

        await Assert.ThrowsAsync<ArgumentNullException>(() => stream.PublishAsync(null!).AsTask());
    }

    [ComplianceFact]
    public async Task SubscribeAsync_EmptyJobId_ThrowsArgumentException()
    {
        var stream = await NewStreamAsync();

        await Assert.ThrowsAnyAsync<ArgumentException>(async () =>
        {
            await foreach (var unused in stream.SubscribeAsync(string.Empty))
            {
                Assert.Fail($"A subscription to an empty job id produced {unused}.");
            }
        });
    }

    /// <summary>How many events the streams under test keep per job; MediaGen's default is 100.</summary>
    protected virtual int HistoryLength => 100;

    /// <summary>The events as published, without the sequence numbers the stream gave them.</summary>
    /// <param name="events">Events read from the stream.</param>
    /// <returns>The same events with <see cref="JobEvent.Sequence"/> 0.</returns>
    protected static List<JobEvent> Unnumbered(IEnumerable<JobEvent> events) => [.. events.Select(e => e with { Sequence = 0 })];

    /// <summary>Asserts that <paramref name="received"/> are <paramref name="published"/>, numbered in increasing order.</summary>
    /// <param name="published">The events as published.</param>
    /// <param name="received">The events a subscriber received.</param>
    protected static void AssertReceived(IReadOnlyList<JobEvent> published, IReadOnlyList<JobEvent> received)
    {
        Assert.Equal(published, Unnumbered(received));
        Assert.All(received, e => Assert.True(e.Sequence > 0, $"Event {e.Type} arrived without a sequence number."));
        Assert.Equal(received.Select(e => e.Sequence).Order(), received.Select(e => e.Sequence));
        Assert.Equal(received.Count, received.Select(e => e.Sequence).Distinct().Count());
    }

    /// <summary>Creates a tracked stream.</summary>
    /// <returns>The stream.</returns>
    protected async Task<IJobEventStream> NewStreamAsync() => Track(await CreateEventStreamAsync());

    /// <summary>Creates a tracked peer of <paramref name="stream"/>.</summary>
    /// <param name="stream">The stream.</param>
    /// <returns>The peer.</returns>
    protected async Task<IJobEventStream> NewPeerAsync(IJobEventStream stream) => Track(await CreatePeerEventStreamAsync(stream));

    /// <summary>An event of <paramref name="type"/> for <paramref name="jobId"/> at the current fake time.</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="type">The event type.</param>
    /// <param name="status">The job's status after it.</param>
    /// <returns>The event.</returns>
    protected JobEvent Event(string jobId, JobEventType type, JobStatus status) => new()
    {
        JobId = jobId,
        OwnerId = "owner-a",
        Type = type,
        Timestamp = Time.GetUtcNow(),
        Status = status,
        Attempt = 1,
    };

    /// <summary>
    /// Subscribes through <paramref name="subscriber"/> and publishes probes through <paramref name="publisher"/>
    /// until one arrives, so the subscription is known to be live.
    /// </summary>
    /// <param name="subscriber">The client to subscribe on.</param>
    /// <param name="publisher">The client to publish probes on.</param>
    /// <param name="jobId">The job.</param>
    /// <returns>The live subscription.</returns>
    protected Task<EventSubscription> SubscribeLiveAsync(IJobEventStream subscriber, IJobEventStream publisher, string jobId) =>
        EventSubscription.OpenLiveAsync(subscriber, publisher, jobId, RealTimeout);
}
