using Microsoft.Extensions.DependencyInjection.Extensions;

namespace MediaGen.AspNetCore.Tests;

public sealed class ProblemResponseTests(PendingHostFixture fixture) : IClassFixture<PendingHostFixture>
{
    public static TheoryData<string> OddAcceptHeaders => new()
    {
        "text/event-stream",
        "text/html",
        "image/png",
        "application/xml;q=1, text/plain;q=0.5",
        "*/*;q=0",
    };

    [Theory]
    [MemberData(nameof(OddAcceptHeaders))]
    public async Task UnknownJob_WithAnyAccept_Is404ProblemJson(string accept)
    {
        using var client = fixture.Host.CreateClient("accept-owner");
        foreach (var path in new[] { "", "/events" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/generations/0123456789abcdef0123456789abcdef{path}");
            request.Headers.TryAddWithoutValidation("Accept", accept);

            using var response = await client.SendAsync(request);

            await response.AssertProblemAsync(404, "job_not_found");
        }
    }

    [Theory]
    [MemberData(nameof(OddAcceptHeaders))]
    public async Task BadBodies_WithAnyAccept_AreProblemJsonWithTheirCodes(string accept)
    {
        using var client = fixture.Host.CreateClient($"accept-{accept.GetHashCode():x}");
        client.DefaultRequestHeaders.TryAddWithoutValidation("Accept", accept);

        using var invalid = await client.SubmitAsync(new { prompt = " ", model = "procedural" });
        using var malformed = await client.PostAsync("/api/v1/generations", new StringContent("{\"prompt\": ", Encoding.UTF8, "application/json"));
        using var notJson = await client.PostAsync("/api/v1/generations", new StringContent("prompt=a", Encoding.UTF8, "application/x-www-form-urlencoded"));

        Assert.True((await invalid.AssertProblemAsync(400, "validation_failed")).GetProperty("errors").TryGetProperty("prompt", out _));
        await malformed.AssertProblemAsync(400, "malformed_json");
        await notJson.AssertProblemAsync(415, "unsupported_media_type");
    }

    [Fact]
    public async Task Submit_BalanceTooLow_Is402WithRequestedAndAvailable()
    {
        await using var host = await TestApiHost.StartAsync(worker: false, services: s => s.Configure<CreditLedgerOptions>(o => o.InitialBalance = 3));
        using var client = host.CreateClient("poor-owner");
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("text/html"));

        using var response = await client.SubmitAsync(new { prompt = "a fox", model = "procedural-hd" });

        var problem = await response.AssertProblemAsync(402, "insufficient_credits");
        Assert.Equal(4, problem.GetProperty("requested").GetInt64());
        Assert.Equal(3, problem.GetProperty("available").GetInt64());
    }

    [Fact]
    public async Task Submit_OverThePendingLimit_Is429WithRetryAfter()
    {
        using var client = fixture.Host.CreateClient("limited-owner");
        for (var i = 0; i < 3; i++)
        {
            await client.SubmitIdAsync(new { prompt = $"job {i}", model = "procedural" });
        }

        using var response = await client.SubmitAsync(new { prompt = "one too many", model = "procedural" });

        var problem = await response.AssertProblemAsync(429, "too_many_pending_jobs");
        Assert.Equal(TimeSpan.FromSeconds(10), response.Headers.RetryAfter?.Delta);
        Assert.Equal(3, problem.GetProperty("limit").GetInt64());
    }

    [Fact]
    public async Task Delete_PendingJob_Is409WithTheJobsStatus()
    {
        using var client = fixture.Host.CreateClient("conflict-owner");
        var id = await client.SubmitIdAsync(new { prompt = "a fox", model = "procedural" });

        var problem = await (await client.DeleteAsync($"/api/v1/generations/{id}")).AssertProblemAsync(409, "invalid_transition");

        Assert.Equal("pending", problem.GetProperty("jobStatus").GetString());
    }

    [Fact]
    public async Task Retry_JobWhoseDeleteWasCutShort_Is409SayingItIsBeingDeleted_AndTheNextDeleteIs204()
    {
        var storage = new PrefixDeleteFailsOnce();
        await using var host = await TestApiHost.StartAsync(worker: false, services: storage.Wrap);
        using var client = host.CreateClient("half-deleted-owner");
        var id = await client.SubmitIdAsync(new { prompt = "a fox", model = "procedural" });
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/api/v1/generations/{id}/cancel", null)).StatusCode);

        // The delete begins (the job is marked) and fails on the storage: the job stays, and can no longer run again.
        await (await client.DeleteAsync($"/api/v1/generations/{id}")).AssertProblemAsync(503, "storage_unavailable");
        var problem = await (await client.PostAsync($"/api/v1/generations/{id}/retry", null)).AssertProblemAsync(409, "invalid_transition");

        Assert.Equal("canceled", problem.GetProperty("jobStatus").GetString());
        Assert.Contains("being deleted", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/v1/generations/{id}")).StatusCode);
        await (await client.GetAsync($"/api/v1/generations/{id}")).AssertProblemAsync(404, "job_not_found");
    }

    /// <summary>The host's storage, whose first prefix delete fails as an unreachable storage would.</summary>
    private sealed class PrefixDeleteFailsOnce
    {
        private int _failed;

        public void Wrap(IServiceCollection services)
        {
            var original = services.Last(d => d.ServiceType == typeof(IMediaStorage));
            var create = original.ImplementationFactory!;
            services.Replace(ServiceDescriptor.Singleton<IMediaStorage>(sp => new Storage((IMediaStorage)create(sp), this)));
        }

        private sealed class Storage(IMediaStorage inner, PrefixDeleteFailsOnce owner) : IMediaStorage
        {
            public ValueTask<StoredObject> SaveAsync(string key, Stream content, StorageWriteOptions options, CancellationToken cancellationToken = default) =>
                inner.SaveAsync(key, content, options, cancellationToken);

            public ValueTask<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default) => inner.OpenReadAsync(key, cancellationToken);

            public ValueTask<StoredObject?> GetInfoAsync(string key, CancellationToken cancellationToken = default) => inner.GetInfoAsync(key, cancellationToken);

            public ValueTask<bool> DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);

            public ValueTask<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default) =>
                Interlocked.Exchange(ref owner._failed, 1) == 0
                    ? throw new StorageUnavailableException("The storage could not be reached.")
                    : inner.DeletePrefixAsync(prefix, cancellationToken);

            public ValueTask<Uri> GetReadUrlAsync(string key, TimeSpan? lifetime = null, CancellationToken cancellationToken = default) =>
                inner.GetReadUrlAsync(key, lifetime, cancellationToken);
        }
    }

    public static TheoryData<string, string, string> MalformedBodies => new()
    {
        { "{\"prompt\": ", "prompt", "malformed_json" },
        { "not json", "body", "malformed_json" },
        { "", "body", "malformed_json" },
        { "null", "body", "malformed_json" },
        { "[1,2]", "body", "malformed_json" },
        { "{\"prompt\":\"a fox\",\"model\":\"procedural\",\"width\":\"wide\"}", "width", "malformed_json" },
        { "{\"prompt\":\"a fox\",\"model\":\"procedural\",\"outputFormat\":\"tiff\"}", "outputFormat", "malformed_json" },
        { "{\"prompt\":\"a fox\",\"model\":\"procedural\",\"outputFormat\":2}", "outputFormat", "malformed_json" },
        { "{\"prompt\":\"\\ud800\",\"model\":\"procedural\"}", "prompt", "malformed_json" },
        { "{\"prompt\":\"a fox\",\"model\":\"procedural\",\"parameters\":{\"deep\":" + new string('[', 100) + new string(']', 100) + "}}", "parameters.deep", "malformed_json" },
        { "{\"prompt\":\"a fox\",\"model\":\"procedural\",\"settings\":{\"outputs\":2}}", "settings", "malformed_json" },
        { "{\"prompt\":\"a fox\",\"model\":\"procedural\",\"outputs\":2}", "outputs", "malformed_json" },
        { "{\"prompt\":\"a fox\",\"model\":\"procedural\",\"parameters\":{\"simulateFailure\":\"\\ud800\"}}", "parameters.simulateFailure", "validation_failed" },
        { "{\"prompt\":\"a fox\",\"model\":\"procedural\",\"parameters\":{\"failOutputs\":\"0,\\udfff\"}}", "parameters.failOutputs", "validation_failed" },
        { "{\"prompt\":\"a fox\",\"model\":\"procedural\",\"parameters\":{\"style\":{\"tags\":[\"ok\",\"\\udc00 x\"]}}}", "parameters.style.tags[1]", "validation_failed" },
        { "{\"prompt\":\"a fox\",\"model\":\"procedural\",\"parameters\":{\"style\":{\"\\ud800\":1}}}", "parameters.style", "validation_failed" },
        { "{\"prompt\":\"a fox\",\"model\":\"procedural\",\"webhookUrl\":\"ftp://example.com/x\"}", "webhookUrl", "validation_failed" },
        { "{\"prompt\":\"a fox\",\"model\":\"procedural\",\"webhookUrl\":\"http://0x7f000001/x\"}", "webhookUrl", "validation_failed" },
        { "{\"prompt\":\"a fox\",\"model\":\"procedural\",\"webhookUrl\":\"http://[::ffff:169.254.169.254]/x\"}", "webhookUrl", "validation_failed" },
        { "{\"prompt\":\"a fox\",\"model\":\"procedural\",\"webhookUrl\":\"https://u:p@hooks.example.com/x\"}", "webhookUrl", "validation_failed" },
        { "{\"prompt\":\"a fox\",\"model\":\"procedural\",\"webhookUrl\":\"https://hooks.example.com/x\",\"webhookEventsFilter\":[\"logs\"]}", "webhookEventsFilter", "validation_failed" },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task Submit_MalformedBody_Is400NamingTheField(string json, string field, string code)
    {
        using var client = fixture.Host.CreateClient("malformed-owner");

        using var response = await client.PostAsync("/api/v1/generations", new StringContent(json, Encoding.UTF8, "application/json"));

        var problem = await response.AssertProblemAsync(400, code);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"Expected an error for '{field}': {problem}");
    }

    [Fact]
    public async Task Submit_ParameterStringThatIsNotValidUnicode_Is400SayingSoAndSubmitsNothing()
    {
        using var client = fixture.Host.CreateClient("surrogate-owner");
        var before = (await (await client.GetAsync("/api/v1/credits")).ReadJsonAsync()).GetProperty("balance").GetInt64();

        using var response = await client.PostAsync(
            "/api/v1/generations",
            new StringContent("""{"prompt":"a fox","model":"procedural","parameters":{"simulateFailure":"\ud800"}}""", Encoding.UTF8, "application/json"));

        var problem = await response.AssertProblemAsync(400, "validation_failed");
        Assert.Contains("valid Unicode", problem.GetProperty("errors").GetProperty("parameters.simulateFailure")[0].GetString(), StringComparison.Ordinal);
        using var list = await client.GetAsync("/api/v1/generations");
        Assert.Empty((await list.ReadJsonAsync()).GetProperty("items").EnumerateArray());
        Assert.Equal(before, (await (await client.GetAsync("/api/v1/credits")).ReadJsonAsync()).GetProperty("balance").GetInt64());
    }

    [Fact]
    public async Task Submit_UnknownField_Is400SayingSoAndSubmitsNothing()
    {
        using var client = fixture.Host.CreateClient("unknown-field-owner");

        using var response = await client.PostAsync("/api/v1/generations", new StringContent("{\"prompt\":\"a fox\",\"model\":\"procedural\",\"settings\":{\"outputs\":2}}", Encoding.UTF8, "application/json"));

        var problem = await response.AssertProblemAsync(400, "malformed_json");
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.StartsWith("The body has a field this endpoint does not take: 'settings'. It takes prompt, negativePrompt, model, ", detail, StringComparison.Ordinal);
        Assert.Contains("outputCount", detail, StringComparison.Ordinal);
        using var list = await client.GetAsync("/api/v1/generations");
        using var page = JsonDocument.Parse(await list.Content.ReadAsStringAsync());
        Assert.Empty(page.RootElement.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Submit_InvalidUtf8_Is400()
    {
        using var client = fixture.Host.CreateClient("utf8-owner");
        var body = new ByteArrayContent([.. "{\"prompt\":\"a "u8, 0xC3, 0x28, 0xFF, .. "\",\"model\":\"procedural\"}"u8]);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using var response = await client.PostAsync("/api/v1/generations", body);

        await response.AssertProblemAsync(400, "malformed_json");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Submit_BodyOverTheLimit_Is413BeforeItIsRead(bool chunked)
    {
        using var client = fixture.Host.CreateClient("huge-owner");
        var json = "{\"prompt\":\"a fox\",\"model\":\"procedural\",\"parameters\":{" + string.Join(",", Enumerable.Range(0, 20_000).Select(i => $"\"p{i}\":{i}")) + "}}";
        HttpContent content = new StringContent(json, Encoding.UTF8, "application/json");
        if (chunked)
        {
            content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(json)));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/generations") { Content = content };
        if (chunked)
        {
            request.Headers.TransferEncodingChunked = true;
        }

        using var response = await client.SendAsync(request);

        var problem = await response.AssertProblemAsync(413, "request_too_large");
        Assert.Contains("65536", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Submit_ManyUnknownParameters_ListsACappedNumberOfErrorsAndTheirCount()
    {
        using var client = fixture.Host.CreateClient("many-errors-owner");
        var parameters = Enumerable.Range(0, 500).ToDictionary(i => $"unknown{i}", i => (object)i);

        using var response = await client.SubmitAsync(new { prompt = "a fox", model = "procedural", parameters });

        var problem = await response.AssertProblemAsync(400, "validation_failed");
        Assert.Equal(20, problem.GetProperty("errors").EnumerateObject().Count());
        Assert.Equal(500, problem.GetProperty("errorCount").GetInt32());
        Assert.True(response.Content.Headers.ContentLength < 8 * 1024, $"The response has {response.Content.Headers.ContentLength} bytes.");
    }

    [Theory]
    [InlineData("/api/v1/generations/%01abc")]
    [InlineData("/api/v1/generations/abc%0Ddef/events")]
    [InlineData("/api/v1/generations/%1B%5B31m")]
    public async Task PathIdWithControlCharacters_Is404WithoutEchoingIt(string path)
    {
        using var client = fixture.Host.CreateClient("control-owner");

        using var response = await client.GetAsync(path);

        var problem = await response.AssertProblemAsync(404, "job_not_found");
        Assert.DoesNotContain("abc", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PathIdLongerThanAnyId_Is404()
    {
        using var client = fixture.Host.CreateClient("long-owner");

        using var response = await client.GetAsync("/api/v1/generations/" + new string('a', 5000));

        await response.AssertProblemAsync(404, "job_not_found");
    }

    [Fact]
    public async Task List_InvalidStatusOrLimit_Is400NamingTheParameter()
    {
        using var client = fixture.Host.CreateClient("list-owner");

        var badStatus = await (await client.GetAsync("/api/v1/generations?status=done")).AssertProblemAsync(400, "validation_failed");
        var numericStatus = await (await client.GetAsync("/api/v1/generations?status=1")).AssertProblemAsync(400, "validation_failed");
        var badLimit = await (await client.GetAsync("/api/v1/generations?limit=lots")).AssertProblemAsync(400, "validation_failed");
        await (await client.GetAsync("/api/v1/generations?limit=0")).AssertProblemAsync(400, "validation_failed");
        await (await client.GetAsync("/api/v1/generations?cursor=%00%01garbage")).AssertProblemAsync(400, "validation_failed");

        Assert.True(badStatus.GetProperty("errors").TryGetProperty("status", out _));
        Assert.True(numericStatus.GetProperty("errors").TryGetProperty("status", out _));
        Assert.True(badLimit.GetProperty("errors").TryGetProperty("limit", out _));
    }

    // A list of statuses was read as the bitwise OR of its names, and a repeated parameter arrives joined with commas:
    // processing|succeeded is failed, so the list answered 200 with the caller's failed jobs instead of a 400.
    [Theory]
    [InlineData("status=processing,succeeded", "status")]
    [InlineData("status=pending&status=failed", "status")]
    [InlineData("status=pending,%20failed", "status")]
    [InlineData("status=%20pending", "status")]
    [InlineData("status=pending%00", "status")]
    [InlineData("limit=2&limit=3", "limit")]
    [InlineData("cursor=a&cursor=b", "cursor")]
    public async Task List_SeveralStatusesOrARepeatedParameter_Is400NamingIt(string query, string parameter)
    {
        using var client = fixture.Host.CreateClient("list-many-owner");

        using var response = await client.GetAsync($"/api/v1/generations?{query}");

        var problem = await response.AssertProblemAsync(400, "validation_failed");
        Assert.True(problem.GetProperty("errors").TryGetProperty(parameter, out _), $"Expected an error for '{parameter}': {problem}");
    }

    [Fact]
    public async Task List_OneStatusInAnyCase_FiltersByIt()
    {
        using var client = fixture.Host.CreateClient("list-case-owner");
        var id = await client.SubmitIdAsync(new { prompt = "a fox", model = "procedural" });

        var pending = await (await client.GetAsync("/api/v1/generations?status=PenDing")).ReadJsonAsync();
        var failed = await (await client.GetAsync("/api/v1/generations?status=failed")).ReadJsonAsync();

        Assert.Equal(id, pending.GetProperty("items").EnumerateArray().Single().GetProperty("id").GetString());
        Assert.Empty(failed.GetProperty("items").EnumerateArray());
    }

    // JsonStringEnumConverter reads a list of names as their bitwise OR even for an enum that is not [Flags]: "png, jpeg"
    // submitted a JPEG job, "jpeg, webp" a format that does not exist.
    [Theory]
    [InlineData("outputFormat", "png, jpeg")]
    [InlineData("outputFormat", "jpeg,webp")]
    [InlineData("outputFormat", " png")]
    [InlineData("priority", "low, high")]
    [InlineData("priority", "normal,high")]
    [InlineData("priority", "1")]
    public async Task Submit_EnumFieldWithSeveralNames_Is400NamingTheField(string field, string value)
    {
        using var client = fixture.Host.CreateClient("enum-list-owner");
        var json = $$"""{"prompt":"a fox","model":"procedural","{{field}}":{{JsonSerializer.Serialize(value)}}}""";

        using var response = await client.PostAsync("/api/v1/generations", new StringContent(json, Encoding.UTF8, "application/json"));

        var problem = await response.AssertProblemAsync(400, "malformed_json");
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"Expected an error for '{field}': {problem}");
    }

    [Fact]
    public async Task Submit_EnumFieldInAnyCase_IsReadAndWrittenInCamelCase()
    {
        using var client = fixture.Host.CreateClient("enum-case-owner");

        using var response = await client.PostAsync(
            "/api/v1/generations",
            new StringContent("""{"prompt":"a fox","model":"procedural","priority":"HIGH","outputFormat":"Png"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var job = await response.ReadJsonAsync();
        Assert.Equal("high", job.GetProperty("priority").GetString());
        Assert.Equal("png", job.GetProperty("settings").GetProperty("outputFormat").GetString());
        Assert.Equal("pending", job.GetProperty("status").GetString());
    }

    [Fact]
    public async Task UnknownPath_Is404Problem_KnownPathWithAnotherMethod_Is405WithAllow()
    {
        using var client = fixture.Host.CreateClient("route-owner");

        using var unknown = await client.GetAsync("/api/v1/nothing/here.png");
        using var put = await client.PutAsync("/api/v1/generations/0123456789abcdef0123456789abcdef", new StringContent("{}"));
        using var getCancel = await client.GetAsync("/api/v1/generations/0123456789abcdef0123456789abcdef/cancel");

        await unknown.AssertProblemAsync(404, "route_not_found");
        await put.AssertProblemAsync(405, "method_not_allowed");
        Assert.Equal(["DELETE", "GET"], put.Content.Headers.Allow.Order(StringComparer.Ordinal));
        await getCancel.AssertProblemAsync(405, "method_not_allowed");
        Assert.Equal(["POST"], getCancel.Content.Headers.Allow);
    }

    [Fact]
    public async Task NoOwner_Is401ProblemWithTheSchemesChallenge()
    {
        using var anonymous = fixture.Host.CreateClient(owner: null);
        anonymous.DefaultRequestHeaders.TryAddWithoutValidation("Accept", "text/event-stream");

        foreach (var path in new[] { "/api/v1/credits", "/api/v1/generations/0123456789abcdef0123456789abcdef/events", "/api/v1/nowhere" })
        {
            using var response = await anonymous.GetAsync(path);

            await response.AssertProblemAsync(401, "unauthenticated");
            Assert.Equal("OwnerHeader", response.Headers.WwwAuthenticate.Single().Scheme);
        }
    }

    [Fact]
    public async Task Owner_ComesFromTheSubClaimToo_AndAUserWithNeitherClaimIs401()
    {
        using var sub = fixture.Host.CreateClient("sub-owner", claimType: "sub");
        using var email = fixture.Host.CreateClient("someone@example.com", claimType: "email");

        var credits = await (await sub.GetAsync("/api/v1/credits")).ReadJsonAsync();
        using var refused = await email.GetAsync("/api/v1/credits");

        Assert.Equal("sub-owner", credits.GetProperty("ownerId").GetString());
        await refused.AssertProblemAsync(401, "unauthenticated");
    }
}
