namespace MediaGen.Abstractions.Tests;

public sealed class GenerationRequestTests
{
    private static GenerationRequest Make(string parameters = """{"a": 1, "b": [1, 2]}""") => new()
    {
        Prompt = "a fox",
        Model = "m",
        OwnerId = "o",
        Settings = new GenerationSettings { Width = 64, Height = 64, Seed = 3 },
        Parameters = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(parameters),
        IdempotencyKey = "k1",
    };

    [Fact]
    public void IsSameWorkAs_SameContentDifferentKeyAndPriority_True()
    {
        var other = Make("""{"b": [1,2], "a": 1}""") with { IdempotencyKey = "k2", Priority = JobPriority.High };
        Assert.True(Make().IsSameWorkAs(other));
    }

    [Fact]
    public void IsSameWorkAs_DifferentPromptSettingsOrParameters_False()
    {
        var a = Make();
        Assert.False(a.IsSameWorkAs(a with { Prompt = "a wolf" }));
        Assert.False(a.IsSameWorkAs(a with { Settings = a.Settings with { Seed = 4 } }));
        Assert.False(a.IsSameWorkAs(Make("""{"a": 2, "b": [1, 2]}""")));
        Assert.False(a.IsSameWorkAs(a with { Parameters = null }));
        Assert.False(a.IsSameWorkAs(a with { OwnerId = "p" }));
    }
}
