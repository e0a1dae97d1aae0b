namespace MediaGen.Samples.Api.Tests;

public sealed class PendingJobTests(NoWorkerFactory factory) : IClassFixture<NoWorkerFactory>
{
    [Fact]
    public async Task Cancel_PendingJob_IsCanceledAtOnceAndRefunded()
    {
        using var client = factory.CreateClient("cancel-key");
        var before = await client.GetBalanceAsync();
        var id = (await (await client.SubmitAsync(new { prompt = "a fox", model = "procedural-hd" })).ReadJsonAsync()).GetProperty("id").GetString()!;
        Assert.Equal(before - 4, await client.GetBalanceAsync());

        using var response = await client.PostAsync($"/api/v1/generations/{id}/cancel", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var job = await response.ReadJsonAsync();
        Assert.Equal("canceled", job.Status());
        Assert.Equal(4, job.GetProperty("creditsRefunded").GetInt64());
        Assert.Equal(before, await client.GetBalanceAsync());
    }

    [Fact]
    public async Task Retry_CanceledJob_Is202PendingInRun2_PendingJob409_ShortBalance402()
    {
        using var client = factory.CreateClient("retry-key");
        var id = (await (await client.SubmitAsync(new { prompt = "a fox", model = "procedural-hd" })).ReadJsonAsync()).GetProperty("id").GetString()!;
        (await client.PostAsync($"/api/v1/generations/{id}/cancel", null)).Dispose();
        Assert.Equal(10, await client.GetBalanceAsync());

        using var retried = await client.PostAsync($"/api/v1/generations/{id}/retry", null);

        Assert.Equal(HttpStatusCode.Accepted, retried.StatusCode);
        Assert.Equal($"/api/v1/generations/{id}", retried.Headers.Location?.OriginalString);
        var job = await retried.ReadJsonAsync();
        Assert.Equal(("pending", 2, 4L, 0L), (job.Status(), job.GetProperty("run").GetInt32(), job.GetProperty("creditsCharged").GetInt64(), job.GetProperty("creditsRefunded").GetInt64()));
        Assert.Equal(6, await client.GetBalanceAsync());

        // A pending job cannot be retried; once canceled again it can, but only while the balance covers it.
        using var pending = await client.PostAsync($"/api/v1/generations/{id}/retry", null);
        Assert.Equal(HttpStatusCode.Conflict, pending.StatusCode);
        Assert.Equal("invalid_transition", (await pending.ReadJsonAsync()).GetProperty("code").GetString());
        (await client.PostAsync($"/api/v1/generations/{id}/cancel", null)).Dispose();
        Assert.Equal(HttpStatusCode.Accepted, (await client.SubmitAsync(new { prompt = "spend", model = "procedural-hd", outputCount = 2 })).StatusCode);
        Assert.Equal(2, await client.GetBalanceAsync());
        using var short402 = await client.PostAsync($"/api/v1/generations/{id}/retry", null);
        Assert.Equal(HttpStatusCode.PaymentRequired, short402.StatusCode);
        Assert.Equal("insufficient_credits", (await short402.ReadJsonAsync()).GetProperty("code").GetString());
        Assert.Equal(2, await client.GetBalanceAsync());
        using var unknown = await client.PostAsync("/api/v1/generations/0123456789abcdef0123456789abcdef/retry", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Submit_BalanceTooLow_Is402AndNothingIsCharged()
    {
        using var client = factory.CreateClient("poor-key");
        // The balance starts at 10: two HD jobs (4 each) fit, a third does not.
        Assert.Equal(HttpStatusCode.Accepted, (await client.SubmitAsync(new { prompt = "one", model = "procedural-hd" })).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await client.SubmitAsync(new { prompt = "two", model = "procedural-hd" })).StatusCode);
        Assert.Equal(2, await client.GetBalanceAsync());

        using var response = await client.SubmitAsync(new { prompt = "three", model = "procedural-hd" });

        Assert.Equal(HttpStatusCode.PaymentRequired, response.StatusCode);
        var problem = await response.ReadJsonAsync();
        Assert.Equal("insufficient_credits", problem.GetProperty("code").GetString());
        Assert.Equal(4, problem.GetProperty("requested").GetInt64());
        Assert.Equal(2, problem.GetProperty("available").GetInt64());
        Assert.Equal(2, await client.GetBalanceAsync());
        var jobs = await (await client.GetAsync("/api/v1/generations")).ReadJsonAsync();
        Assert.Equal(2, jobs.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task List_WithStatusFilterAndCursor_PagesThroughTheOwnersJobs()
    {
        using var client = factory.CreateClient("list-key");
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await (await client.SubmitAsync(new { prompt = $"job {i}", model = "procedural" })).ReadJsonAsync()).GetProperty("id").GetString()!);
        }

        await client.PostAsync($"/api/v1/generations/{ids[1]}/cancel", null);
        await client.PostAsync($"/api/v1/generations/{ids[3]}/cancel", null);

        var pending = await ReadAllPagesAsync(client, "status=pending&limit=2");
        var canceled = await ReadAllPagesAsync(client, "status=CANCELED");
        var all = await ReadAllPagesAsync(client, "limit=1");

        Assert.Equal(2, pending.Pages);
        Assert.Equal([ids[4], ids[2], ids[0]], pending.Items.Select(j => j.GetProperty("id").GetString()));
        Assert.All(pending.Items, j => Assert.Equal("pending", j.Status()));
        Assert.Equal([ids[3], ids[1]], canceled.Items.Select(j => j.GetProperty("id").GetString()));
        Assert.Equal(5, all.Pages);
        Assert.Equal(Enumerable.Reverse(ids), all.Items.Select(j => j.GetProperty("id").GetString()));
    }

    private static async Task<(List<JsonElement> Items, int Pages)> ReadAllPagesAsync(HttpClient client, string query)
    {
        var items = new List<JsonElement>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var url = "/api/v1/generations?" + query + (cursor is null ? string.Empty : "&cursor=" + Uri.EscapeDataString(cursor));
            using var response = await client.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await response.ReadJsonAsync();
            items.AddRange(page.GetProperty("items").EnumerateArray());
            cursor = page.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
            pages++;
        }
        while (cursor is not null && pages < 20);

        return (items, pages);
    }
}
