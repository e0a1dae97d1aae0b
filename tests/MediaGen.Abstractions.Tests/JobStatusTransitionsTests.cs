namespace MediaGen.Abstractions.Tests;

public sealed class JobStatusTransitionsTests
{
    public static TheoryData<JobStatus, JobStatus> Legal => new()
    {
        { JobStatus.Pending, JobStatus.Processing },
        { JobStatus.Pending, JobStatus.Failed },
        { JobStatus.Pending, JobStatus.Canceled },
        { JobStatus.Processing, JobStatus.Pending },
        { JobStatus.Processing, JobStatus.Succeeded },
        { JobStatus.Processing, JobStatus.Failed },
        { JobStatus.Processing, JobStatus.Canceled },

        // A retry runs a failed or canceled job again as a new run.
        { JobStatus.Failed, JobStatus.Pending },
        { JobStatus.Canceled, JobStatus.Pending },
    };

    [Theory]
    [MemberData(nameof(Legal))]
    public void CanTransition_LegalPair_ReturnsTrue(JobStatus from, JobStatus to) =>
        Assert.True(JobStatusTransitions.CanTransition(from, to));

    [Fact]
    public void CanTransition_EveryOtherPair_ReturnsFalse()
    {
        var legal = Legal.Select(row => ((JobStatus)row[0], (JobStatus)row[1])).ToHashSet();
        foreach (var from in Enum.GetValues<JobStatus>())
        {
            foreach (var to in Enum.GetValues<JobStatus>())
            {
                Assert.Equal(legal.Contains((from, to)), JobStatusTransitions.CanTransition(from, to));
            }
        }
    }

    [Theory]
    [InlineData(JobStatus.Succeeded)]
    [InlineData(JobStatus.Failed)]
    [InlineData(JobStatus.Canceled)]
    public void EnsureTransition_FromTerminal_ThrowsWithCode(JobStatus terminal)
    {
        Assert.True(terminal.IsTerminal());
        var e = Assert.Throws<InvalidJobTransitionException>(() => JobStatusTransitions.EnsureTransition("j1", terminal, JobStatus.Processing));
        Assert.Equal(MediaGenErrorCodes.InvalidTransition, e.ErrorCode);
        Assert.Equal(terminal, e.From);
        Assert.Contains("j1", e.Message, StringComparison.Ordinal);
    }
}
