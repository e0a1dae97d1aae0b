namespace MediaGen.Abstractions.Tests;

public sealed class GenerationResultTests
{
    private static GeneratedOutput Output(string text) => GeneratedOutput.FromBytes("image/png", System.Text.Encoding.UTF8.GetBytes(text));

    private static OutputFailure Failure(int index) => new(index, MediaGenErrorCodes.GeneratorPermanent, $"output {index} failed");

    [Fact]
    public void Constructor_OutputsOnly_HasNoFailuresAndNumbersOutputsFromZero()
    {
        var result = new GenerationResult([Output("a"), Output("b")]);

        Assert.Empty(result.FailedOutputs);
        Assert.Equal([0, 1], result.GetOutputIndexes());
    }

    [Fact]
    public void GetOutputIndexes_SomeFailed_OutputsTakeTheIndexesLeftInOrder()
    {
        var result = new GenerationResult([Output("zero"), Output("two")], [Failure(3), Failure(1)]);

        Assert.Equal([0, 2], result.GetOutputIndexes());
        Assert.Equal([3, 1], result.FailedOutputs.Select(f => f.Index));
    }

    [Fact]
    public void GetOutputIndexes_LeadingFailures_AreSkipped()
    {
        var result = new GenerationResult([Output("two")], [Failure(0), Failure(1)]);

        Assert.Equal([2], result.GetOutputIndexes());
    }

    [Fact]
    public void Constructor_EveryOutputFailed_IsAResultWithoutOutputs()
    {
        var result = new GenerationResult([], [Failure(0), Failure(1)]);

        Assert.Empty(result.Outputs);
        Assert.Empty(result.GetOutputIndexes());
        Assert.Equal(2, result.FailedOutputs.Count);
    }

    [Theory]
    [InlineData(new[] { -1 })]
    [InlineData(new[] { 1, 1 })]
    [InlineData(new[] { 2 })]
    public void Constructor_IndexNegativeRepeatedOrBeyondTheOutputs_Throws(int[] failed)
    {
        // One output plus the failures must number 0..n-1: with one failure, only 0 and 1 exist.
        Assert.Throws<ArgumentException>(() => new GenerationResult([Output("a")], failed.Select(Failure).ToArray()));
    }

    [Fact]
    public void Constructor_FailureWithoutACode_Throws()
    {
        Assert.Throws<ArgumentException>(() => new GenerationResult([Output("a")], [new OutputFailure(1, " ", "lost")]));
    }
}
