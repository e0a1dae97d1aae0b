using System.Net.Http.Headers;

namespace MediaGen.Samples.Api.Tests;

public sealed class OwnerAndRunningJobTests(SlowJobsWithApiKeysFactory factory) : IClassFixture<SlowJobsWithApiKeysFactory>
{
    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key")]
    public async Task AnyEndpoint_WithoutAKnownKey_Is401ProblemDetails(string? key)
    {
        using var client = factory.CreateClient(key);

        using var response = await client.GetAsync("/api/v1/credits");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task Credits_WithABearerKey_IsThatKeysOwner()
    {
        using var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "bob-key");

        var credits = await (await client.GetAsync("/api/v1/credits")).ReadJsonAsync();

        Assert.Equal("bob", credits.GetProperty("ownerId").GetString());
    }

    [Fact]
    public async Task AnotherOwnersJob_Is404Everywhere()
    {
        using var alice = factory.CreateClient("alice-key");
        using var bob = factory.CreateClient("bob-key");
        var id = (await (await alice.SubmitAsync(new { prompt = "alice's fox", model = "procedural" })).ReadJsonAsync()).GetProperty("id").GetString()!;

        try
        {
            Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"/api/v1/generations/{id}")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/api/v1/generations/{id}")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/api/v1/generations/{id}/events")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await bob.PostAsync($"/api/v1/generations/{id}/cancel", null)).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await bob.DeleteAsync($"/api/v1/generations/{id}")).StatusCode);
            var bobsJobs = await (await bob.GetAsync("/api/v1/generations")).ReadJsonAsync();
            Assert.DoesNotContain(bobsJobs.GetProperty("items").EnumerateArray(), j => j.GetProperty("id").GetString() == id);
            Assert.NotEqual("canceled", (await (await alice.GetAsync($"/api/v1/generations/{id}")).ReadJsonAsync()).Status());
        }
        finally
        {
            await alice.PostAsync($"/api/v1/generations/{id}/cancel", null);
        }
    }

    [Fact]
    public async Task DeleteRunningJob_Is409_ThenCancelRefundsAndDeleteSucceeds()
    {
        using var carol = factory.CreateClient("carol-key");
        var before = await carol.GetBalanceAsync();
        var id = (await (await carol.SubmitAsync(new { prompt = "a slow fox", model = "procedural-hd" })).ReadJsonAsync()).GetProperty("id").GetString()!;
        await carol.WaitForJobAsync(id, j => j.Status() == "processing");
        Assert.Equal(before - 4, await carol.GetBalanceAsync());

        using var deleteRunning = await carol.DeleteAsync($"/api/v1/generations/{id}");
        Assert.Equal(HttpStatusCode.Conflict, deleteRunning.StatusCode);
        Assert.Equal("invalid_transition", (await deleteRunning.ReadJsonAsync()).GetProperty("code").GetString());

        using var cancel = await carol.PostAsync($"/api/v1/generations/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        var afterCancel = await cancel.ReadJsonAsync();
        Assert.True(afterCancel.Status() == "canceled" || afterCancel.GetProperty("cancelRequested").GetBoolean(), $"Unexpected state after cancel: {afterCancel}");

        var canceled = await carol.WaitForJobAsync(id, j => j.Status() == "canceled" && j.GetProperty("creditsRefunded").GetInt64() == 4);
        Assert.Equal(4, canceled.GetProperty("creditsRefunded").GetInt64());
        Assert.Equal(before, await carol.GetBalanceAsync());

        using var cancelAgain = await carol.PostAsync($"/api/v1/generations/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancelAgain.StatusCode);
        Assert.Equal(before, await carol.GetBalanceAsync());
        Assert.Equal(HttpStatusCode.NoContent, (await carol.DeleteAsync($"/api/v1/generations/{id}")).StatusCode);
    }

    [Fact]
    public async Task Events_ForARunningJob_SendTheStateThenHeartbeatsAndCloseOnCancel()
    {
        using var dave = factory.CreateClient("dave-key");
        // A browser's EventSource cannot send headers: the events endpoint also takes the key in the query.
        using var anonymous = factory.CreateClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var id = (await (await dave.SubmitAsync(new { prompt = "a slow fox", model = "procedural" })).ReadJsonAsync()).GetProperty("id").GetString()!;
        await dave.WaitForJobAsync(id, j => j.Status() == "processing");

        using var stream = await anonymous.GetAsync($"/api/v1/generations/{id}/events?apiKey=dave-key", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        var seen = new List<string>();
        var canceled = false;
        await foreach (var (name, data) in stream.ReadEventsAsync(timeout.Token))
        {
            seen.Add(name);
            if (name == ":" && !canceled)
            {
                canceled = true;
                Assert.Equal(HttpStatusCode.OK, (await dave.PostAsync($"/api/v1/generations/{id}/cancel", null)).StatusCode);
            }
        }

        Assert.Equal("job", seen[0]);
        Assert.Contains(":", seen);
        Assert.Equal(["canceled", "job"], seen.Where(s => s != ":").TakeLast(2));
    }
}
