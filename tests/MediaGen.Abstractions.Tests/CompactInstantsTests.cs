namespace MediaGen.Abstractions.Tests;

// GenerationJob and JobEvent keep their instants as UTC ticks and an event's progress as a plain double. These tests pin
// what a caller sees through the public properties: the same instants and values, nulls kept apart from every value.
public sealed class CompactInstantsTests
{
    private static readonly DateTimeOffset Plus2 = new(2026, 3, 4, 5, 6, 7, 890, TimeSpan.FromHours(2));

    private static GenerationJob Job() => new()
    {
        Id = "0123456789abcdef0123456789abcdef",
        Request = new GenerationRequest { Prompt = "p", Model = "m", OwnerId = "o" },
        CreatedAt = Plus2,
    };

    [Fact]
    public void Job_Instants_ReadBackAsTheSameInstantInUtc()
    {
        var job = Job() with
        {
            UpdatedAt = Plus2.AddTicks(1),
            StartedAt = Plus2.AddSeconds(1),
            CompletedAt = Plus2.AddSeconds(2),
            NextAttemptAt = Plus2.AddSeconds(3),
            Deadline = Plus2.AddSeconds(4),
            LeaseExpiresAt = Plus2.AddSeconds(5),
        };

        Assert.Equal(Plus2.UtcDateTime, job.CreatedAt.UtcDateTime);
        Assert.Equal(TimeSpan.Zero, job.CreatedAt.Offset);
        Assert.Equal(Plus2.AddTicks(1).UtcTicks, job.UpdatedAt.UtcTicks);
        Assert.Equal(Plus2.AddSeconds(1), job.StartedAt);
        Assert.Equal(Plus2.AddSeconds(2), job.CompletedAt);
        Assert.Equal(Plus2.AddSeconds(3), job.NextAttemptAt);
        Assert.Equal(Plus2.AddSeconds(4), job.Deadline);
        Assert.Equal(Plus2.AddSeconds(5), job.LeaseExpiresAt);
    }

    [Fact]
    public void Job_OptionalInstants_NullAndTheEarliestInstantStayApart()
    {
        var job = Job();
        Assert.Null(job.StartedAt);
        Assert.Null(job.CompletedAt);
        Assert.Null(job.NextAttemptAt);
        Assert.Null(job.Deadline);
        Assert.Null(job.LeaseExpiresAt);
        Assert.Equal(default, job.UpdatedAt);

        var earliest = job with { StartedAt = DateTimeOffset.MinValue, Deadline = DateTimeOffset.MaxValue };
        Assert.Equal(DateTimeOffset.MinValue, earliest.StartedAt);
        Assert.Equal(DateTimeOffset.MaxValue, earliest.Deadline);
        Assert.Null((earliest with { StartedAt = null }).StartedAt);
    }

    [Fact]
    public void Job_Equality_ComparesInstantsAsBefore()
    {
        var job = Job() with { StartedAt = Plus2 };
        Assert.Equal(job, job with { CreatedAt = Plus2.ToUniversalTime(), StartedAt = Plus2.ToOffset(TimeSpan.FromHours(-5)) });
        Assert.NotEqual(job, job with { StartedAt = null });
        Assert.NotEqual(job, job with { StartedAt = Plus2.AddTicks(1) });
    }

    [Fact]
    public void Job_JsonRoundTrip_KeepsInstantsAndNulls()
    {
        var job = Job() with { StartedAt = Plus2.AddMinutes(1), Version = 3 };
        var back = JsonSerializer.Deserialize<GenerationJob>(JsonSerializer.Serialize(job))!;

        // The output lists come back as new (empty) lists, and a record compares lists by reference.
        Assert.Equal(job with { Outputs = back.Outputs, FailedOutputs = back.FailedOutputs }, back);
        Assert.Null(back.CompletedAt);
    }

    [Fact]
    public void Event_TimestampAndProgress_ReadBackAsGiven()
    {
        var jobEvent = new JobEvent { JobId = "j", OwnerId = "o", Type = JobEventType.Progress, Timestamp = Plus2, Progress = 0 };
        Assert.Equal(Plus2, jobEvent.Timestamp);
        Assert.Equal(TimeSpan.Zero, jobEvent.Timestamp.Offset);
        Assert.Equal(0d, jobEvent.Progress);
        Assert.Equal(0.5, (jobEvent with { Progress = 0.5 }).Progress);
        Assert.Null((jobEvent with { Progress = null }).Progress);
        Assert.Null((jobEvent with { Progress = double.NaN }).Progress);
        Assert.Null((jobEvent with { Type = JobEventType.Started, Progress = null }).Progress);
        Assert.Null(new JobEvent { JobId = "j", OwnerId = "o", Type = JobEventType.Started, Timestamp = Plus2 }.Progress);
        Assert.Equal(jobEvent with { Progress = null }, jobEvent with { Progress = double.NaN });
    }
}
