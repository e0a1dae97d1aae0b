namespace MediaGen.Core.Tests.Storage;

/// <summary>The fixed metadata the worker stores with a job's outputs reads like the dictionary it stands for.</summary>
public sealed class OutputMetadataTests
{
    private static readonly GenerationJob Job = new()
    {
        Id = "job-7",
        Request = new GenerationRequest { Prompt = "a fox", Model = "procedural", OwnerId = "owner-3" },
        CreatedAt = DateTimeOffset.UnixEpoch,
    };

    [Fact]
    public void For_Job_HoldsItsIdOwnerAndModelInThatOrder()
    {
        var metadata = OutputMetadata.For(Job);

        Assert.Equal(3, metadata.Count);
        Assert.Equal(
            [new("job-id", "job-7"), new("owner", "owner-3"), new KeyValuePair<string, string>("model", "procedural")],
            metadata.ToArray());
        Assert.Equal(["job-id", "owner", "model"], metadata.Keys);
        Assert.Equal(["job-7", "owner-3", "procedural"], metadata.Values);
        Assert.Equal("owner-3", metadata["owner"]);
        Assert.True(metadata.ContainsKey("model"));
        Assert.True(metadata.TryGetValue("job-id", out var id));
        Assert.Equal("job-7", id);
    }

    [Fact]
    public void Lookup_KeyNotHeld_IsAbsentAndTheIndexerSaysWhich()
    {
        var metadata = OutputMetadata.For(Job);

        Assert.False(metadata.ContainsKey("Owner"));
        Assert.False(metadata.TryGetValue("prompt", out var value));
        Assert.Null(value);
        var error = Assert.Throws<KeyNotFoundException>(() => metadata["prompt"]);
        Assert.Contains("'prompt'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Copy_IntoADictionary_IsEqualToTheHandWrittenOne() =>
        Assert.Equal(
            new Dictionary<string, string> { ["job-id"] = "job-7", ["owner"] = "owner-3", ["model"] = "procedural" },
            new Dictionary<string, string>(OutputMetadata.For(Job)));
}
