namespace MediaGen.Samples.Api.Tests;

public sealed class GenerationFlowTests(DefaultApiFactory factory) : IClassFixture<DefaultApiFactory>
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [Fact]
    public async Task Submit_FollowEventsToSucceeded_OutputIsServedAsPng()
    {
        using var client = factory.CreateClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        using var submitted = await client.SubmitAsync(new { prompt = "a red fox in the snow", model = "procedural", width = 128, height = 96, outputCount = 2, seed = 7 });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var job = await submitted.ReadJsonAsync();
        var id = job.GetProperty("id").GetString()!;
        Assert.Equal($"/api/v1/generations/{id}", submitted.Headers.Location?.OriginalString);
        Assert.Equal(2, job.GetProperty("creditsCharged").GetInt64());

        using var stream = await client.GetAsync($"/api/v1/generations/{id}/events", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
        var events = new List<(string Event, JsonElement Data)>();
        await foreach (var e in stream.ReadEventsAsync(timeout.Token))
        {
            if (e.Event != ":")
            {
                events.Add(e);
            }
        }

        // The current state first; the final state last, after the terminal event; the stream then closes. The job takes
        // 20 ms, so on a busy machine it may finish before the stream opens: then the current state is the final one and
        // is the only event, as the endpoint documents.
        Assert.Equal("job", events[0].Event);
        Assert.Equal("job", events[^1].Event);
        if (events.Count > 1)
        {
            Assert.Equal("succeeded", events[^2].Event);
        }
        var final = events[^1].Data;
        Assert.Equal("succeeded", final.Status());
        var outputs = final.GetProperty("outputs").EnumerateArray().ToArray();
        Assert.Equal(2, outputs.Length);

        foreach (var output in outputs)
        {
            var url = output.GetProperty("url").GetString()!;
            Assert.StartsWith($"/media/{id}/", new Uri(url).AbsolutePath, StringComparison.Ordinal);
            using var media = await client.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, media.StatusCode);
            Assert.Equal("image/png", media.Content.Headers.ContentType?.MediaType);
            var bytes = await media.Content.ReadAsByteArrayAsync();
            Assert.Equal(PngSignature, bytes[..8]);
            Assert.Equal(output.GetProperty("size").GetInt64(), bytes.Length);
            Assert.Equal(128, output.GetProperty("width").GetInt32());
        }
    }

    [Fact]
    public async Task Submit_SomeImagesFailed_SucceedsWithTheOthersAndRefundsTheFailedImagesShare()
    {
        using var client = factory.CreateClient();
        var before = await client.GetBalanceAsync();

        using var submitted = await client.SubmitAsync(new
        {
            prompt = "a lighthouse in fog",
            model = "procedural-hd",
            width = 64,
            height = 64,
            outputCount = 4,
            parameters = new { failOutputs = "1,3" },
        });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var id = (await submitted.ReadJsonAsync()).GetProperty("id").GetString()!;
        Assert.Equal(before - 16, await client.GetBalanceAsync());

        var job = await client.WaitForJobAsync(id, j => j.Status() is "succeeded" or "failed");

        Assert.Equal("succeeded", job.Status());
        Assert.Equal(16, job.GetProperty("creditsCharged").GetInt64());
        Assert.Equal(8, job.GetProperty("creditsRefunded").GetInt64());
        Assert.Equal([0, 2], job.GetProperty("outputs").EnumerateArray().Select(o => o.GetProperty("index").GetInt32()));
        Assert.Equal([1, 3], job.GetProperty("failedOutputs").EnumerateArray().Select(o => o.GetProperty("index").GetInt32()));
        Assert.Equal("generator_failed", job.GetProperty("failedOutputs")[0].GetProperty("code").GetString());
        Assert.Equal(before - 8, await client.GetBalanceAsync());
        using var second = await client.GetAsync(job.GetProperty("outputs")[1].GetProperty("url").GetString());
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/media/{id}/2.png")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/media/{id}/1.png")).StatusCode);
    }

    [Fact]
    public async Task Submit_EveryImageFailed_FailsAndRefundsInFull()
    {
        using var client = factory.CreateClient();
        var before = await client.GetBalanceAsync();

        using var submitted = await client.SubmitAsync(new { prompt = "a lighthouse in fog", model = "procedural", outputCount = 2, parameters = new { failOutputs = "0,1" } });
        var id = (await submitted.ReadJsonAsync()).GetProperty("id").GetString()!;
        var job = await client.WaitForJobAsync(id, j => j.Status() is "succeeded" or "failed");

        Assert.Equal("failed", job.Status());
        Assert.Equal("generator_failed", job.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(2, job.GetProperty("creditsCharged").GetInt64());
        Assert.Equal(2, job.GetProperty("creditsRefunded").GetInt64());
        Assert.Empty(job.GetProperty("outputs").EnumerateArray());
        Assert.Equal(before, await client.GetBalanceAsync());
    }

    [Fact]
    public async Task Events_ForAFinishedJob_SendTheStateAndClose()
    {
        using var client = factory.CreateClient();
        var id = (await (await client.SubmitAsync(new { prompt = "a lighthouse", model = "procedural" })).ReadJsonAsync()).GetProperty("id").GetString()!;
        await client.WaitForJobAsync(id, j => j.Status() == "succeeded");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        using var stream = await client.GetAsync($"/api/v1/generations/{id}/events", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        var events = new List<(string Event, JsonElement Data)>();
        await foreach (var e in stream.ReadEventsAsync(timeout.Token))
        {
            events.Add(e);
        }

        var only = Assert.Single(events);
        Assert.Equal("job", only.Event);
        Assert.Equal("succeeded", only.Data.Status());
    }

    [Fact]
    public async Task Submit_SameIdempotencyKeyTwice_ReturnsTheSameJobAndChargesOnce()
    {
        using var client = factory.CreateClient();
        var key = Guid.NewGuid().ToString("N");
        var body = new { prompt = "a quiet harbour", model = "procedural-hd" };
        var before = await client.GetBalanceAsync();

        using var first = await client.SubmitAsync(body, key);
        using var second = await client.SubmitAsync(body, key);

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        Assert.Equal("true", second.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal((await first.ReadJsonAsync()).GetProperty("id").GetString(), (await second.ReadJsonAsync()).GetProperty("id").GetString());
        Assert.Equal(before - 4, await client.GetBalanceAsync());
    }

    [Fact]
    public async Task Submit_SameIdempotencyKeyWithADifferentBody_Is409()
    {
        using var client = factory.CreateClient();
        var key = Guid.NewGuid().ToString("N");
        using var first = await client.SubmitAsync(new { prompt = "a quiet harbour", model = "procedural" }, key);
        var before = await client.GetBalanceAsync();

        using var second = await client.SubmitAsync(new { prompt = "a loud harbour", model = "procedural" }, key);

        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal("application/problem+json", second.Content.Headers.ContentType?.MediaType);
        Assert.Equal("idempotency_key_reused", (await second.ReadJsonAsync()).GetProperty("code").GetString());
        Assert.Equal(before, await client.GetBalanceAsync());
    }

    public static TheoryData<string, string> InvalidBodies => new()
    {
        { """{"prompt":"   ","model":"procedural"}""", "prompt" },
        { """{"model":"procedural"}""", "prompt" },
        { $$"""{"prompt":"{{new string('a', 2001)}}","model":"procedural"}""", "prompt" },
        { """{"prompt":"a fox","model":"no-such-model"}""", "model" },
        { """{"prompt":"a fox","model":"procedural","width":100,"height":64}""", "settings.width" },
        { """{"prompt":"a fox","model":"procedural","width":2048,"height":2048}""", "settings.width" },
        { """{"prompt":"a fox","model":"procedural","outputCount":9}""", "settings.outputCount" },
        { """{"prompt":"a fox","model":"procedural","aspectRatio":"2:1"}""", "settings.aspectRatio" },
        { """{"prompt":"a fox","model":"procedural","outputFormat":"jpeg"}""", "settings.outputFormat" },
        { """{"prompt":"a fox","model":"procedural","parameters":{"steps":4}}""", "parameters.steps" },
        { """{"prompt":"a fox","model":"procedural","outputCount":2,"parameters":{"failOutputs":"2"}}""", "parameters.failOutputs" },
        { """{"prompt":"a fox","model":"procedural","parameters":{"failOutputs":"first"}}""", "parameters.failOutputs" },
        { """{"prompt":"a fox","model":"procedural","webhookUrl":"ftp://example.com/x"}""", "webhookUrl" },
        { """{"prompt":"a fox","model":"procedural","outputFormat":"tiff"}""", "outputFormat" },
        { """{"prompt":"a fox","model":"procedural","width":"wide"}""", "width" },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task Submit_InvalidBody_Is400WithTheFieldError(string json, string field)
    {
        using var client = factory.CreateClient();
        var before = await client.GetBalanceAsync();

        using var response = await client.PostAsync("/api/v1/generations", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.ReadJsonAsync();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"Expected an error for '{field}': {problem}");
        Assert.Equal(before, await client.GetBalanceAsync());
    }

    [Theory]
    [InlineData("{\"prompt\": ")]
    [InlineData("not json")]
    [InlineData("")]
    public async Task Submit_MalformedJson_Is400ProblemDetails(string json)
    {
        using var client = factory.CreateClient();

        using var response = await client.PostAsync("/api/v1/generations", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(400, (await response.ReadJsonAsync()).GetProperty("status").GetInt32());
    }

    [Theory]
    [InlineData("GET", "/api/v1/generations/0123456789abcdef0123456789abcdef")]
    [InlineData("GET", "/api/v1/generations/not-an-id")]
    [InlineData("GET", "/api/v1/generations/0123456789abcdef0123456789abcdef/events")]
    [InlineData("POST", "/api/v1/generations/0123456789abcdef0123456789abcdef/cancel")]
    [InlineData("DELETE", "/api/v1/generations/0123456789abcdef0123456789abcdef")]
    public async Task UnknownJob_Is404ProblemDetails(string method, string path)
    {
        using var client = factory.CreateClient();

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("job_not_found", (await response.ReadJsonAsync()).GetProperty("code").GetString());
    }

    [Fact]
    public async Task Delete_FinishedJob_RemovesItAndItsOutputs()
    {
        using var client = factory.CreateClient();
        var id = (await (await client.SubmitAsync(new { prompt = "a lighthouse", model = "procedural" })).ReadJsonAsync()).GetProperty("id").GetString()!;
        var job = await client.WaitForJobAsync(id, j => j.Status() == "succeeded");
        var url = job.GetProperty("outputs")[0].GetProperty("url").GetString()!;

        using var deleted = await client.DeleteAsync($"/api/v1/generations/{id}");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/v1/generations/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(url)).StatusCode);
    }

    [Fact]
    public async Task Models_ListsTheProceduralModelsWithTheirCosts()
    {
        using var client = factory.CreateClient();

        var models = await (await client.GetAsync("/api/v1/models")).ReadJsonAsync();

        var byId = models.EnumerateArray().ToDictionary(m => m.GetProperty("id").GetString()!, m => m.GetProperty("costCredits").GetInt64());
        Assert.Equal(1, byId["procedural"]);
        Assert.Equal(4, byId["procedural-hd"]);
    }

    [Fact]
    public async Task Credits_WithoutApiKeys_IsTheDemoOwnerWithTheSampleBalance()
    {
        using var client = factory.CreateClient();

        var credits = await (await client.GetAsync("/api/v1/credits")).ReadJsonAsync();

        Assert.Equal("demo", credits.GetProperty("ownerId").GetString());
        Assert.True(credits.GetProperty("balance").GetInt64() > 900);
    }

    [Fact]
    public async Task Health_IsHealthy()
    {
        using var client = factory.CreateClient();

        using var response = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task OpenApi_DocumentDescribesTheEndpoints()
    {
        using var client = factory.CreateClient();

        var document = await (await client.GetAsync("/openapi/v1.json")).ReadJsonAsync();

        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/api/v1/generations", "/api/v1/generations/{id}", "/api/v1/generations/{id}/cancel", "/api/v1/generations/{id}/events", "/api/v1/models", "/api/v1/credits" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"The OpenAPI document lacks {path}.");
        }
    }

    [Fact]
    public async Task Page_IsServedAtTheRootWithItsScript()
    {
        using var client = factory.CreateClient();

        using var page = await client.GetAsync("/");
        using var script = await client.GetAsync("/app.js");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<script src=\"app.js\">", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Contains("EventSource", await script.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_InvalidStatusOrLimit_Is400()
    {
        using var client = factory.CreateClient();

        using var badStatus = await client.GetAsync("/api/v1/generations?status=done");
        using var badLimit = await client.GetAsync("/api/v1/generations?limit=lots");
        using var zeroLimit = await client.GetAsync("/api/v1/generations?limit=0");

        Assert.True((await badStatus.ReadJsonAsync()).GetProperty("errors").TryGetProperty("status", out _));
        Assert.True((await badLimit.ReadJsonAsync()).GetProperty("errors").TryGetProperty("limit", out _));
        Assert.Equal(HttpStatusCode.BadRequest, zeroLimit.StatusCode);
    }
}
