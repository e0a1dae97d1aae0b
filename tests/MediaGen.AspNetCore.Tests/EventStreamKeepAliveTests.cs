namespace MediaGen.AspNetCore.Tests;

public sealed class EventStreamKeepAliveTests
{
    [Fact]
    public async Task PendingJob_StreamsItsQueuePositionAsItMoves()
    {
        var time = new ObservedTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var interval = TimeSpan.FromSeconds(2);
        await using var host = await TestApiHost.StartAsync(worker: false, services: s => s.AddSingleton<TimeProvider>(time));
        using var client = host.CreateClient("queued-owner");
        var ahead = await client.SubmitIdAsync(new { prompt = "a fox", model = "procedural" });
        var id = await client.SubmitIdAsync(new { prompt = "a hare", model = "procedural" });
        using var timeout = new CancellationTokenSource(Waits.Limit);
        using var response = await client.GetAsync($"/api/v1/generations/{id}/events", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token), Encoding.UTF8);

        Assert.Equal("event: job", await reader.ReadLineAsync(timeout.Token));
        while (await reader.ReadLineAsync(timeout.Token) != "")
        {
        }

        Assert.Equal("event: position", await reader.ReadLineAsync(timeout.Token));
        Assert.Equal($"data: {{\"jobId\":\"{id}\",\"position\":1}}", await reader.ReadLineAsync(timeout.Token));
        Assert.Equal("", await reader.ReadLineAsync(timeout.Token));
        // A worker takes the job ahead.
        var taken = Assert.Single(await host.Services.GetRequiredService<IJobQueue>().ReceiveAsync(1, TimeSpan.Zero));
        Assert.Equal(ahead, taken.Message.JobId);
        await time.WaitForTimersAsync(1, interval);
        time.Advance(interval);

        Assert.Equal("event: position", await reader.ReadLineAsync(timeout.Token));
        Assert.Equal($"data: {{\"jobId\":\"{id}\",\"position\":0}}", await reader.ReadLineAsync(timeout.Token));
    }

    [Fact]
    public async Task IdleStream_SendsAKeepAliveCommentEachInterval_ThenTheEventsAsTheyCome()
    {
        var time = new ObservedTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var interval = TimeSpan.FromSeconds(15);
        // The queue position is checked as often as the keep-alive: it does not move, so a keep-alive goes out instead.
        await using var host = await TestApiHost.StartAsync(worker: false, services: s => s.AddSingleton<TimeProvider>(time), api: o => o.SseQueuePositionInterval = interval);
        using var client = host.CreateClient("idle-owner");
        var id = await client.SubmitIdAsync(new { prompt = "a fox", model = "procedural" });
        using var timeout = new CancellationTokenSource(Waits.Limit);
        using var response = await client.GetAsync($"/api/v1/generations/{id}/events", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token), Encoding.UTF8);

        var first = new[] { await reader.ReadLineAsync(timeout.Token), await reader.ReadLineAsync(timeout.Token), await reader.ReadLineAsync(timeout.Token) };
        Assert.Equal("event: job", first[0]);
        Assert.Contains("retry: 3000", first);
        Assert.Single(first, l => l!.StartsWith("data: {", StringComparison.Ordinal));
        Assert.Equal("", await reader.ReadLineAsync(timeout.Token));
        Assert.Equal("event: position", await reader.ReadLineAsync(timeout.Token));
        Assert.Equal($"data: {{\"jobId\":\"{id}\",\"position\":0}}", await reader.ReadLineAsync(timeout.Token));
        Assert.Equal("", await reader.ReadLineAsync(timeout.Token));
        for (var i = 0; i < 2; i++)
        {
            await time.WaitForTimersAsync(1, interval);
            time.Advance(interval);
            Assert.Equal(": keep-alive", await reader.ReadLineAsync(timeout.Token));
            Assert.Equal("", await reader.ReadLineAsync(timeout.Token));
        }

        await time.WaitForTimersAsync(1, interval);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await client.PostAsync($"/api/v1/generations/{id}/cancel", null)).StatusCode);

        Assert.Equal("event: canceled", await reader.ReadLineAsync(timeout.Token));
        Assert.StartsWith("data: {", await reader.ReadLineAsync(timeout.Token), StringComparison.Ordinal);
        Assert.Equal("id: 2", await reader.ReadLineAsync(timeout.Token));
        Assert.Equal("", await reader.ReadLineAsync(timeout.Token));
        Assert.Equal("event: job", await reader.ReadLineAsync(timeout.Token));
        Assert.Contains("\"status\":\"canceled\"", await reader.ReadLineAsync(timeout.Token), StringComparison.Ordinal);
        Assert.Equal("", await reader.ReadLineAsync(timeout.Token));
        Assert.Null(await reader.ReadLineAsync(timeout.Token));
    }
}
