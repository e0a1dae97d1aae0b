namespace MediaGen.AspNetCore.Tests;

public sealed class MapMediaGenerationTests(ApiHostFixture fixture) : IClassFixture<ApiHostFixture>
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [Fact]
    public async Task Submit_ThenEvents_Is202WithLocationAndStreamsToSucceededWithOutputs()
    {
        using var client = fixture.Host.CreateClient("submit-owner");

        using var submitted = await client.SubmitAsync(new { prompt = "a red fox in the snow", model = "procedural", width = 128, height = 96, outputCount = 2, seed = 7 });

        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var job = await submitted.ReadJsonAsync();
        var id = job.GetProperty("id").GetString()!;
        Assert.Equal($"/api/v1/generations/{id}", submitted.Headers.Location?.OriginalString);
        Assert.Equal("pending", job.Status());
        Assert.Equal(2, job.GetProperty("creditsCharged").GetInt64());
        var final = await client.WaitForFinalAsync(id);
        Assert.Equal("succeeded", final.Status());
        var outputs = final.GetProperty("outputs").EnumerateArray().ToArray();
        Assert.Equal(2, outputs.Length);
        // Absolute, from the request's own address, and signed.
        Assert.All(outputs, o => Assert.StartsWith($"{fixture.Host.Address.GetLeftPart(UriPartial.Authority)}/media/{id}/", o.GetProperty("url").GetString(), StringComparison.Ordinal));
        Assert.All(outputs, o => Assert.Contains("&signature=", o.GetProperty("url").GetString(), StringComparison.Ordinal));
        Assert.Equal(128, outputs[0].GetProperty("width").GetInt32());
    }

    [Fact]
    public async Task Submit_UseResultCacheWithAFixedSeed_SecondOwnerGetsACacheHitWithItsOwnImages()
    {
        using var alice = fixture.Host.CreateClient("cache-owner-a");
        using var bob = fixture.Host.CreateClient("cache-owner-b");
        var body = new { prompt = "a paper boat on a pond, cached", model = "procedural", width = 96, height = 64, outputCount = 2, seed = 4242, useResultCache = true };
        using var first = await alice.SubmitAsync(body);
        var originalId = (await first.ReadJsonAsync()).GetProperty("id").GetString()!;
        var original = await alice.WaitForFinalAsync(originalId);
        Assert.False(original.GetProperty("cacheHit").GetBoolean());

        using var second = await bob.SubmitAsync(body);

        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        var hit = await second.ReadJsonAsync();
        var hitId = hit.GetProperty("id").GetString()!;
        Assert.Equal("succeeded", hit.Status());
        Assert.True(hit.GetProperty("cacheHit").GetBoolean());
        Assert.Equal(0, hit.GetProperty("creditsCharged").GetInt64());
        Assert.DoesNotContain(originalId, hit.GetRawText(), StringComparison.Ordinal);
        var outputs = hit.GetProperty("outputs").EnumerateArray().ToArray();
        Assert.Equal(2, outputs.Length);
        Assert.All(outputs, o => Assert.Contains($"/media/{hitId}/", o.GetProperty("url").GetString(), StringComparison.Ordinal));
        var originalImage = await alice.GetByteArrayAsync(original.GetProperty("outputs")[0].GetProperty("url").GetString());
        Assert.Equal(originalImage, await bob.GetByteArrayAsync(outputs[0].GetProperty("url").GetString()));

        // Bob's job is his alone; Alice's stays hers.
        using var others = await bob.GetAsync($"/api/v1/generations/{originalId}");
        Assert.Equal(HttpStatusCode.NotFound, others.StatusCode);
        using var own = await bob.GetAsync($"/api/v1/generations/{hitId}");
        Assert.True((await own.ReadJsonAsync()).GetProperty("cacheHit").GetBoolean());
    }

    // A Host header the server accepts but punycode cannot decode once failed the answer after the cache hit was created
    // and charged: the client heard 500 for a job it had paid for.
    [Fact]
    public async Task Submit_CacheHitWithAHostHeaderThatIsNotValidPunycode_Is202WithTheJobChargedOnce()
    {
        await using var host = await TestApiHost.StartAsync(mediaGenBuilder: b => b.ConfigureResultCache(o => o.CacheHitCredits = 3));
        using var client = host.CreateClient("punycode-cache-owner");
        var body = new { prompt = "a cached heron", model = "procedural", seed = 7, useResultCache = true };
        Assert.Equal("succeeded", (await client.WaitForFinalAsync(await client.SubmitIdAsync(body))).Status());
        var before = await BalanceAsync(client);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/generations")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        request.Headers.Host = "xn--";
        using var response = await client.SendAsync(request);

        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"Answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        var hit = await response.ReadJsonAsync();
        var hitId = hit.GetProperty("id").GetString()!;
        Assert.True(hit.GetProperty("cacheHit").GetBoolean());
        Assert.Contains($"/media/{hitId}/0.png?expires=", hit.GetProperty("outputs")[0].GetProperty("url").GetString(), StringComparison.Ordinal);
        Assert.Equal($"/api/v1/generations/{hitId}", response.Headers.Location?.OriginalString);
        Assert.Equal(3, before - await BalanceAsync(client));
        Assert.Equal(2, (await (await client.GetAsync("/api/v1/generations")).ReadJsonAsync()).GetProperty("items").GetArrayLength());
    }

    // The Location header was the request's path as decoded: under a path base that is not ASCII the server refused to
    // send it, and the submission answered 500 after its job was created and charged.
    [Fact]
    public async Task Submit_UnderAPathBaseThatIsNotAscii_Is202WithAnEscapedLocation()
    {
        await using var host = await TestApiHost.StartAsync(application: app =>
        {
            app.UsePathBase("/\u00fcber");
            app.UseRouting();
        });
        using var client = host.CreateClient("path-base-owner");

        using var response = await client.PostAsync("/%C3%BCber/api/v1/generations", new StringContent("""{"prompt":"a fox","model":"procedural"}""", Encoding.UTF8, "application/json"));

        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"Answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        var id = (await response.ReadJsonAsync()).GetProperty("id").GetString()!;
        Assert.Equal($"/%C3%BCber/api/v1/generations/{id}", response.Headers.Location?.OriginalString);
        using var job = await client.GetAsync(response.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, job.StatusCode);
    }

    // Once a submission has created and charged its job, the answer says so even when the storage cannot sign the outputs'
    // URLs afresh: it carries the URLs signed when they were stored. A read changes nothing, so it reports the outage (503),
    // the event stream as a problem before it starts.
    [Fact]
    public async Task Submit_CacheHitWhoseUrlsTheStorageCannotSignAgain_Is202WithTheUrlsSignedWhenStored()
    {
        await using var host = await TestApiHost.StartAsync(services: ResigningFails.Decorate, mediaGenBuilder: b => b.ConfigureResultCache(o => o.CacheHitCredits = 3));
        var storage = (ResigningFails)host.Services.GetRequiredService<IMediaStorage>();
        using var client = host.CreateClient("unsigned-cache-owner");
        var body = new { prompt = "a cached stork", model = "procedural", seed = 11, useResultCache = true };
        Assert.Equal("succeeded", (await client.WaitForFinalAsync(await client.SubmitIdAsync(body))).Status());
        var before = await BalanceAsync(client);
        storage.Armed = true;

        using var response = await client.SubmitAsync(body);

        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"Answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        var hit = await response.ReadJsonAsync();
        var hitId = hit.GetProperty("id").GetString()!;
        Assert.True(hit.GetProperty("cacheHit").GetBoolean());
        Assert.Equal(storage.FirstUrls[$"{hitId}/0.png"], hit.GetProperty("outputs")[0].GetProperty("url").GetString()![host.Address.GetLeftPart(UriPartial.Authority).Length..]);
        Assert.Equal(3, before - await BalanceAsync(client));
        await (await client.GetAsync($"/api/v1/generations/{hitId}")).AssertProblemAsync(503, "storage_unavailable");
        await (await client.GetAsync($"/api/v1/generations/{hitId}/events")).AssertProblemAsync(503, "storage_unavailable");
    }

    [Fact]
    public async Task Submit_WithWebhookEventsFilter_JobNamesTheEventsInCanonicalOrder()
    {
        using var client = fixture.Host.CreateClient("webhook-owner");

        using var submitted = await client.SubmitAsync(new { prompt = "a heron", model = "procedural", webhookUrl = "https://hooks.example.com/mediagen", webhookEventsFilter = new[] { "output", "start", "output" } });

        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var job = await submitted.ReadJsonAsync();
        Assert.Equal("https://hooks.example.com/mediagen", job.GetProperty("webhookUrl").GetString());
        Assert.Equal(["start", "output"], job.GetProperty("webhookEventsFilter").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Events_OfARunningJob_CarryRetryFirstThenEachEventThenTheFinalState()
    {
        using var client = fixture.Host.CreateClient("events-owner");
        var id = await client.SubmitIdAsync(new { prompt = "a lighthouse", model = "procedural" });
        using var timeout = new CancellationTokenSource(Waits.Limit);

        using var response = await client.GetAsync($"/api/v1/generations/{id}/events", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        var text = await response.Content.ReadAsStringAsync(timeout.Token);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no", response.Headers.GetValues("X-Accel-Buffering").Single());
        var frames = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("event: job\n", frames[0], StringComparison.Ordinal);
        Assert.Contains("\nretry: 3000", frames[0], StringComparison.Ordinal);
        Assert.StartsWith("event: job\n", frames[^1], StringComparison.Ordinal);
        // The job takes 20 ms: it may have finished before the stream opened, and then its state is the only event.
        if (frames.Length > 1)
        {
            Assert.StartsWith("event: succeeded\n", frames[^2], StringComparison.Ordinal);
        }

        Assert.Contains("\"status\":\"succeeded\"", frames[^1], StringComparison.Ordinal);
        Assert.DoesNotContain(frames.Skip(1), f => f.Contains("retry:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OutputFiles_AreWrittenAsPngs()
    {
        using var client = fixture.Host.CreateClient("png-owner");
        var id = await client.SubmitIdAsync(new { prompt = "a harbour", model = "procedural", width = 64, height = 64 });

        var final = await client.WaitForFinalAsync(id);

        var storage = (IMediaStorage)fixture.Host.Services.GetService(typeof(IMediaStorage))!;
        var key = $"{id}/0.png";
        await using var stream = await storage.OpenReadAsync(key);
        var header = new byte[8];
        await stream.ReadExactlyAsync(header);
        Assert.Equal(PngSignature, header);
        Assert.Equal("succeeded", final.Status());
    }

    [Fact]
    public async Task Get_List_Models_Credits_AnswerTheOwnersData()
    {
        using var client = fixture.Host.CreateClient("reader-owner");
        var id = await client.SubmitIdAsync(new { prompt = "a quiet harbour", model = "procedural-hd" });
        await client.WaitForFinalAsync(id);

        var job = await (await client.GetAsync($"/api/v1/generations/{id}")).ReadJsonAsync();
        var list = await (await client.GetAsync("/api/v1/generations?status=succeeded&limit=5")).ReadJsonAsync();
        var models = await (await client.GetAsync("/api/v1/models")).ReadJsonAsync();
        var credits = await (await client.GetAsync("/api/v1/credits")).ReadJsonAsync();

        Assert.Equal(id, job.GetProperty("id").GetString());
        Assert.Equal([id], list.GetProperty("items").EnumerateArray().Select(j => j.GetProperty("id").GetString()));
        Assert.Equal(4, models.EnumerateArray().Single(m => m.GetProperty("id").GetString() == "procedural-hd").GetProperty("costCredits").GetInt64());
        Assert.Equal("reader-owner", credits.GetProperty("ownerId").GetString());
        Assert.Equal(1_000_000 - 4, credits.GetProperty("balance").GetInt64());
    }

    [Fact]
    public async Task AnotherOwnersJob_Is404ProblemEverywhere()
    {
        using var alice = fixture.Host.CreateClient("isolated-alice");
        using var bob = fixture.Host.CreateClient("isolated-bob");
        var id = await alice.SubmitIdAsync(new { prompt = "alice's fox", model = "procedural" });
        await alice.WaitForFinalAsync(id);

        foreach (var (method, path) in new[] { ("GET", ""), ("GET", "/events"), ("POST", "/cancel"), ("POST", "/retry"), ("DELETE", "") })
        {
            using var response = await bob.SendAsync(new HttpRequestMessage(new HttpMethod(method), $"/api/v1/generations/{id}{path}"));
            await response.AssertProblemAsync(404, "job_not_found");
        }

        var bobsJobs = await (await bob.GetAsync("/api/v1/generations")).ReadJsonAsync();
        Assert.Empty(bobsJobs.GetProperty("items").EnumerateArray());
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"/api/v1/generations/{id}")).StatusCode);
    }

    [Fact]
    public async Task Delete_FinishedJob_Is204ThenItIsGone()
    {
        using var client = fixture.Host.CreateClient("delete-owner");
        var id = await client.SubmitIdAsync(new { prompt = "a lighthouse", model = "procedural" });
        await client.WaitForFinalAsync(id);

        using var deleted = await client.DeleteAsync($"/api/v1/generations/{id}");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await (await client.GetAsync($"/api/v1/generations/{id}")).AssertProblemAsync(404, "job_not_found");
    }

    [Fact]
    public async Task Retry_FailedJob_Is202WithLocationAndRunsAgain_SucceededJobIs409()
    {
        using var client = fixture.Host.CreateClient("retry-owner");
        var failed = await client.SubmitIdAsync(new { prompt = "a fox", model = "procedural", parameters = new { simulateFailure = "permanent" } });
        Assert.Equal("failed", (await client.WaitForFinalAsync(failed)).Status());

        using var retried = await client.PostAsync($"/api/v1/generations/{failed}/retry", null);

        Assert.Equal(HttpStatusCode.Accepted, retried.StatusCode);
        Assert.Equal($"/api/v1/generations/{failed}", retried.Headers.Location?.OriginalString);
        Assert.Equal(2, (await retried.ReadJsonAsync()).GetProperty("run").GetInt32());
        var succeeded = await client.SubmitIdAsync(new { prompt = "a fox", model = "procedural" });
        await client.WaitForFinalAsync(succeeded);
        var problem = await (await client.PostAsync($"/api/v1/generations/{succeeded}/retry", null)).AssertProblemAsync(409, "invalid_transition");
        Assert.Equal("succeeded", problem.GetProperty("jobStatus").GetString());
    }

    [Fact]
    public async Task Submit_SameIdempotencyKeyTwice_Is200WithTheSameJobAndReplayedHeader()
    {
        using var client = fixture.Host.CreateClient("idempotent-owner");
        var key = Guid.NewGuid().ToString("N");

        using var first = await client.SubmitAsync(new { prompt = "a quiet harbour", model = "procedural" }, key);
        using var second = await client.SubmitAsync(new { prompt = "a quiet harbour", model = "procedural" }, key);
        using var different = await client.SubmitAsync(new { prompt = "a loud harbour", model = "procedural" }, key);

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        Assert.Equal("true", second.Headers.GetValues("Idempotent-Replayed").Single());
        var problem = await different.AssertProblemAsync(409, "idempotency_key_reused");
        Assert.Equal((await first.ReadJsonAsync()).GetProperty("id").GetString(), problem.GetProperty("existingJobId").GetString());
    }

    [Fact]
    public async Task Responses_AreCamelCaseWithEnumsAsStringsAndNoNulls()
    {
        using var client = fixture.Host.CreateClient("json-owner");

        using var submitted = await client.SubmitAsync(new { prompt = "a fox", model = "procedural" });
        var job = await submitted.ReadJsonAsync();

        Assert.Equal(JsonValueKind.String, job.GetProperty("status").ValueKind);
        Assert.Equal("normal", job.GetProperty("priority").GetString());
        Assert.False(job.TryGetProperty("negativePrompt", out _));
        Assert.False(job.TryGetProperty("Id", out _));
    }

    private static async Task<long> BalanceAsync(HttpClient client) =>
        (await (await client.GetAsync("/api/v1/credits")).ReadJsonAsync()).GetProperty("balance").GetInt64();

    /// <summary>
    /// The host's storage, except that once armed it signs a key's read URL only once (the result cache does, when it
    /// copies an output) and then fails as a storage that cannot be reached.
    /// </summary>
    private sealed class ResigningFails(IMediaStorage inner) : IMediaStorage
    {
        public volatile bool Armed;

        public System.Collections.Concurrent.ConcurrentDictionary<string, string> FirstUrls { get; } = new(StringComparer.Ordinal);

        public static void Decorate(IServiceCollection services)
        {
            var original = services.Last(d => d.ServiceType == typeof(IMediaStorage));
            services.Remove(original);
            services.AddSingleton<IMediaStorage>(sp => new ResigningFails((IMediaStorage)(original.ImplementationInstance
                ?? original.ImplementationFactory?.Invoke(sp)
                ?? ActivatorUtilities.CreateInstance(sp, original.ImplementationType!))));
        }

        public async ValueTask<Uri> GetReadUrlAsync(string key, TimeSpan? lifetime = null, CancellationToken cancellationToken = default)
        {
            if (Armed && FirstUrls.ContainsKey(key))
            {
                throw new StorageUnavailableException("The storage cannot be reached.");
            }

            var url = await inner.GetReadUrlAsync(key, lifetime, cancellationToken);
            if (Armed)
            {
                FirstUrls[key] = url.OriginalString;
            }

            return url;
        }

        public ValueTask<StoredObject> SaveAsync(string key, Stream content, StorageWriteOptions options, CancellationToken cancellationToken = default) => inner.SaveAsync(key, content, options, cancellationToken);

        public ValueTask<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default) => inner.OpenReadAsync(key, cancellationToken);

        public ValueTask<StoredObject?> GetInfoAsync(string key, CancellationToken cancellationToken = default) => inner.GetInfoAsync(key, cancellationToken);

        public ValueTask<bool> DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);

        public ValueTask<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default) => inner.DeletePrefixAsync(prefix, cancellationToken);
    }
}
