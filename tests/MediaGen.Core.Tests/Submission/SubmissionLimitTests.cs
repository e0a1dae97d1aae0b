namespace MediaGen.Core.Tests.Submission;

public sealed class SubmissionLimitTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 10, TimeSpan.Zero));
    private readonly ScriptedGenerator _generator = new("unit", (_, _) => ValueTask.FromResult(new GenerationResult([])), cost: 1);
    private readonly ServiceProvider _services;

    public SubmissionLimitTests()
    {
        _services = new ServiceCollection()
            .AddSingleton<TimeProvider>(_time)
            .AddMediaGeneration(o =>
            {
                o.SubmissionsPerOwner = 3;
                o.SubmissionWindow = TimeSpan.FromMinutes(1);
                o.MaxPendingJobsPerOwner = 4;
                o.PendingLimitRetryAfter = TimeSpan.FromSeconds(20);
            })
            .ConfigureCredits(o => o.InitialBalance = 100)
            .AddGenerator(_generator)
            .Services.BuildServiceProvider();
    }

    private IMediaGenerationClient Client => _services.GetRequiredService<IMediaGenerationClient>();

    private ICreditLedger Ledger => _services.GetRequiredService<ICreditLedger>();

    public void Dispose() => _services.Dispose();

    private GenerationRequest Request(string owner = "alice") => new() { Prompt = "a fox", Model = _generator.ModelId, OwnerId = owner };

    [Fact]
    public async Task SubmitAsync_OverTheRate_IsRefusedUntilTheWindowEndsAndNothingIsWrittenOrCharged()
    {
        for (var i = 0; i < 3; i++)
        {
            await Client.SubmitAsync(Request());
        }

        var refused = await Assert.ThrowsAsync<OwnerLimitExceededException>(() => Client.SubmitAsync(Request()).AsTask());

        // Windows are aligned to whole minutes: 10 s into this one, 50 s are left.
        Assert.Equal((OwnerLimit.SubmissionRate, 3L, TimeSpan.FromSeconds(50)), (refused.Limit, refused.Allowed, refused.RetryAfter));
        Assert.Equal(MediaGenErrorCodes.SubmissionRateExceeded, refused.ErrorCode);
        Assert.Equal(97, await Ledger.GetBalanceAsync("alice"));
        Assert.Equal(3, (await Client.ListAsync(new JobQuery { OwnerId = "alice" })).Items.Count);

        // Another owner has a window of their own; the next window has room again.
        Assert.True((await Client.SubmitAsync(Request("bob"))).Created);
        _time.Advance(TimeSpan.FromSeconds(50));
        Assert.True((await Client.SubmitAsync(Request())).Created);
    }

    [Fact]
    public async Task SubmitAsync_OverThePendingLimit_IsRefusedWithTheHintAndNothingIsWrittenOrCharged()
    {
        for (var i = 0; i < 4; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(20)); // stay under the rate: two submissions per minute window at most
            await Client.SubmitAsync(Request());
        }

        _time.Advance(TimeSpan.FromMinutes(1));
        var refused = await Assert.ThrowsAsync<OwnerLimitExceededException>(() => Client.SubmitAsync(Request()).AsTask());

        Assert.Equal((OwnerLimit.PendingJobs, 4L, TimeSpan.FromSeconds(20)), (refused.Limit, refused.Allowed, refused.RetryAfter));
        Assert.Equal(96, await Ledger.GetBalanceAsync("alice"));
        Assert.Equal(4, (await Client.ListAsync(new JobQuery { OwnerId = "alice", Status = JobStatus.Pending })).Items.Count);
    }

    [Fact]
    public async Task SubmitAsync_QueueMessage_CarriesTheOwnerAsItsGroup()
    {
        var job = (await Client.SubmitAsync(Request("carol"))).Job;

        var lease = Assert.Single(await _services.GetRequiredService<IJobQueue>().ReceiveAsync(1, TimeSpan.Zero));
        Assert.Equal((job.Id, "carol"), (lease.Message.JobId, lease.Message.GroupId));
        await lease.CompleteAsync();
    }
}
