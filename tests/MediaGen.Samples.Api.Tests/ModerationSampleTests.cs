namespace MediaGen.Samples.Api.Tests;

public sealed class ModerationSampleTests
{
    [Fact]
    public async Task Submit_BlockedTermFromConfiguration_Is422ContentBlockedAndNothingIsCharged()
    {
        using var factory = new ApiFactory(new Dictionary<string, string?>
        {
            ["MediaGen:Worker:Enabled"] = "false",
            ["MediaGen:Moderation:Terms:0"] = "gore",
            ["MediaGen:Moderation:Reason"] = "This service does not draw that.",
        });
        using var client = factory.CreateClient();
        var before = await client.GetBalanceAsync();

        using var refused = await client.SubmitAsync(new { prompt = "a hallway full of G\u200Bore", model = "procedural" });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var problem = await refused.ReadJsonAsync();
        Assert.Equal(("content_blocked", "prompt", "This service does not draw that."), (problem.GetProperty("code").GetString(), problem.GetProperty("field").GetString(), problem.GetProperty("detail").GetString()));
        Assert.Equal(before, await client.GetBalanceAsync());
        using var list = await client.GetAsync("/api/v1/generations");
        Assert.Empty((await list.ReadJsonAsync()).GetProperty("items").EnumerateArray());
        Assert.Equal(HttpStatusCode.Accepted, (await client.SubmitAsync(new { prompt = "a gorge at dawn", model = "procedural" })).StatusCode);
    }

    [Fact]
    public void Start_UnknownModerationKey_FailsNamingIt()
    {
        using var factory = new ApiFactory(new Dictionary<string, string?> { ["MediaGen:Moderation:Termz:0"] = "gore" });

        var failure = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        Assert.Contains("MediaGen:Moderation:Termz", failure.ToString(), StringComparison.Ordinal);
    }
}
