namespace MediaGen.Abstractions.Tests;

// GenerationJob keeps the fields most jobs never set in one part that its copies share. These tests pin what a caller
// sees through the public properties: a copy that changes one of them leaves the original as it was, and equality,
// JSON and the defaults are what they were with plain properties.
public sealed class JobRareFieldsTests
{
    private static readonly DateTimeOffset At = new(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);

    private static GenerationJob Job() => new()
    {
        Id = "0123456789abcdef0123456789abcdef",
        Request = new GenerationRequest { Prompt = "p", Model = "m", OwnerId = "o" },
        CreatedAt = At,
    };

    private static GenerationJob WithEveryRareField(GenerationJob job) => job with
    {
        NextAttemptAt = At.AddSeconds(5),
        FailedOutputs = [new OutputFailure(1, "generator_failed", "no")],
        Error = new JobError("transient", "later", Retryable: true),
        CreditsRefunded = 2,
        ProgressMessage = "halfway",
        Checkpoint = "prediction-1",
        CancelRequested = true,
        CacheHit = true,
    };

    [Fact]
    public void Defaults_AreThoseOfPlainProperties()
    {
        var job = Job();
        Assert.Empty(job.FailedOutputs);
        Assert.Equal(
            ((DateTimeOffset?)null, (JobError?)null, 0L, (string?)null, (string?)null, false, false),
            (job.NextAttemptAt, job.Error, job.CreditsRefunded, job.ProgressMessage, job.Checkpoint, job.CancelRequested, job.CacheHit));
    }

    [Fact]
    public void With_SettingEachRareField_ChangesTheCopyOnly()
    {
        var original = Job();
        var copy = WithEveryRareField(original);

        Assert.Equal(At.AddSeconds(5), copy.NextAttemptAt);
        Assert.Equal(1, Assert.Single(copy.FailedOutputs).Index);
        Assert.Equal("transient", copy.Error!.Code);
        Assert.Equal(2, copy.CreditsRefunded);
        Assert.Equal("halfway", copy.ProgressMessage);
        Assert.Equal("prediction-1", copy.Checkpoint);
        Assert.True(copy.CancelRequested);
        Assert.True(copy.CacheHit);
        Assert.Equal(Job(), original);

        // A copy of the copy that changes one of them leaves the others, and the copy, as they were.
        var again = copy with { Checkpoint = "prediction-2", Error = null };
        Assert.Equal("prediction-2", again.Checkpoint);
        Assert.Null(again.Error);
        Assert.Equal("prediction-1", copy.Checkpoint);
        Assert.Equal("transient", copy.Error!.Code);
        Assert.Equal(copy.FailedOutputs, again.FailedOutputs);
        Assert.True(again.CacheHit);
    }

    [Fact]
    public void Equality_ComparesTheRareFieldsByValue()
    {
        var job = WithEveryRareField(Job());
        Assert.Equal(job, job with { Error = new JobError("transient", "later", Retryable: true) });
        Assert.Equal(job.GetHashCode(), (job with { ProgressMessage = "half" + "way" }).GetHashCode());
        Assert.NotEqual(job, job with { CreditsRefunded = 3 });
        Assert.NotEqual(job, job with { CacheHit = false });
        Assert.NotEqual(job, job with { NextAttemptAt = null });
        Assert.Equal(Job(), WithEveryRareField(Job()) with
        {
            NextAttemptAt = null,
            FailedOutputs = [],
            Error = null,
            CreditsRefunded = 0,
            ProgressMessage = null,
            Checkpoint = null,
            CancelRequested = false,
            CacheHit = false,
        });
    }

    [Fact]
    public void FailedOutputs_AnyEmptyList_ReadsBackAsEmpty()
    {
        var job = Job() with { FailedOutputs = new List<OutputFailure>() };
        Assert.Empty(job.FailedOutputs);
        Assert.Equal(Job(), job);
    }

    [Fact]
    public void JsonRoundTrip_KeepsEveryRareField()
    {
        var job = WithEveryRareField(Job()) with { Version = 4 };
        var back = JsonSerializer.Deserialize<GenerationJob>(JsonSerializer.Serialize(job))!;

        // The outputs come back as a new list, and a record compares lists by reference.
        Assert.Equal(job with { Outputs = back.Outputs, FailedOutputs = back.FailedOutputs }, back);
        Assert.Equal(job.FailedOutputs, back.FailedOutputs);
        Assert.Equal(job.Error, back.Error);
        Assert.Equal(job.NextAttemptAt, back.NextAttemptAt);
    }
}
