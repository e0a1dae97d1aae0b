using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.AspNetCore.HttpOverrides;

namespace MediaGen.AspNetCore.Tests;

/// <summary>The dashboard's JSON endpoints, protection and actions, on a host built on the package alone.</summary>
public sealed class DashboardEndpointsTests
{
    private const string RoleClaim = ClaimTypes.Role;

    [Fact]
    public async Task Queue_PendingJobs_CountedByPriorityWithTheOldestAge()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        await using var host = await StartAsync(worker: false, services: s => s.AddSingleton<TimeProvider>(time));
        using var client = host.CreateClient();
        await client.SubmitIdAsync(new { prompt = "one", model = "procedural", priority = "high" });
        time.Advance(TimeSpan.FromSeconds(30));
        await client.SubmitIdAsync(new { prompt = "two", model = "procedural" });
        await client.SubmitIdAsync(new { prompt = "three", model = "procedural" });
        time.Advance(TimeSpan.FromSeconds(60));

        var queue = await client.GetFromJsonAsync<JsonElement>("/mediagen/api/queue");

        Assert.Equal(3, queue.GetProperty("depth").GetProperty("ready").GetInt64());
        Assert.Equal(90, queue.GetProperty("oldestPendingAgeSeconds").GetDouble());
        var states = queue.GetProperty("jobs").EnumerateArray()
            .Select(s => (s.GetProperty("status").GetString(), s.GetProperty("priority").GetString(), s.GetProperty("count").GetInt32()))
            .ToList();
        Assert.Equal([("pending", "high", 1), ("pending", "normal", 2)], states);
        Assert.False(queue.GetProperty("scanLimitReached").GetBoolean());
    }

    [Fact]
    public async Task Panels_AfterJobsRan_ShowThroughputWorkerAndDetail()
    {
        await using var host = await StartAsync(worker: true);
        using var succeeded = new MetricCollector<long>(host.Services.GetRequiredService<IMeterFactory>(), MediaGenTelemetry.MeterName, MediaGenTelemetry.Instruments.JobSucceeded);
        using var client = host.CreateClient(owner: "erin");
        var id = await client.SubmitIdAsync(new { prompt = "a quiet harbour", model = "procedural" });
        Assert.Equal("succeeded", (await client.WaitForFinalAsync(id)).Status());

        // The worker counts a success just after the step that publishes it: the panel counts from that measurement.
        await succeeded.WaitForMeasurementsAsync(1).WaitAsync(Waits.Limit);

        var throughput = await client.GetFromJsonAsync<JsonElement>("/mediagen/api/throughput");
        var model = Assert.Single(throughput.GetProperty("models").EnumerateArray());
        Assert.Equal("procedural", model.GetProperty("model").GetString());
        Assert.Equal(1, model.GetProperty("succeeded").GetInt64());
        Assert.Equal(0, model.GetProperty("failureRate").GetDouble());
        Assert.Equal(15, model.GetProperty("succeededPerMinute").GetArrayLength());

        var worker = Assert.Single((await client.GetFromJsonAsync<JsonElement>("/mediagen/api/workers")).EnumerateArray());
        Assert.Equal(Environment.ProcessId, worker.GetProperty("processId").GetInt32());
        Assert.Equal(16, worker.GetProperty("concurrency").GetInt32());

        var detail = await client.GetFromJsonAsync<JsonElement>($"/mediagen/api/jobs/{id}");
        Assert.Equal("erin", detail.GetProperty("ownerId").GetString());
        Assert.Equal("succeeded", detail.GetProperty("job").GetProperty("status").GetString());
        Assert.StartsWith("http://127.0.0.1:", detail.GetProperty("job").GetProperty("outputs")[0].GetProperty("url").GetString());
        var events = detail.GetProperty("events").EnumerateArray().ToList();
        Assert.Equal("queued", events[0].GetProperty("type").GetString());
        Assert.Equal("succeeded", events[^1].GetProperty("type").GetString());
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.GetProperty("sequence").GetInt64()));
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/mediagen/api/running")).EnumerateArray());
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/mediagen/api/failures")).EnumerateArray());

        using var missing = await client.GetAsync("/mediagen/api/jobs/no-such-job");
        await missing.AssertProblemAsync(404, MediaGenErrorCodes.JobNotFound);
    }

    [Fact]
    public async Task Page_IsServedFromTheAssembly_WithItsAssets()
    {
        await using var host = await StartAsync(worker: false);
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = host.Address };

        using var bare = await client.GetAsync("/mediagen");
        Assert.Equal(HttpStatusCode.Redirect, bare.StatusCode);
        Assert.Equal("/mediagen/", bare.Headers.Location?.OriginalString);
        using var page = await client.GetAsync("/mediagen/");
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<script src=\"dashboard.js\"></script>", await page.Content.ReadAsStringAsync());
        Assert.Contains("frame-ancestors 'none'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("refresh()", await client.GetStringAsync("/mediagen/dashboard.js"));
        Assert.Contains(".cards", await client.GetStringAsync("/mediagen/dashboard.css"));
    }

    [Fact]
    public async Task NoPolicy_NonLocalRequest_IsRefused()
    {
        await using var host = await StartAsync(worker: false, application: BehindProxy);
        using var client = host.CreateClient();
        client.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.9");

        foreach (var path in new[] { "/mediagen/", "/mediagen/api/queue", "/mediagen/api/antiforgery" })
        {
            using var response = await client.GetAsync(path);
            await response.AssertProblemAsync(403, MediaGenerationApiErrorCodes.DashboardLocalOnly);
        }

        using var local = await host.CreateClient().GetAsync("/mediagen/api/queue");
        Assert.Equal(HttpStatusCode.OK, local.StatusCode);
    }

    [Fact]
    public async Task Policy_IsRequired_AndOpensTheDashboardToOtherAddresses()
    {
        await using var host = await StartAsync(
            worker: false,
            services: s => s.AddAuthorizationBuilder().AddPolicy("operators", p => p.RequireClaim(RoleClaim, "ops")),
            dashboard: o => o.AuthorizationPolicy = "operators",
            application: BehindProxy);
        using var anonymous = host.CreateClient(owner: null);
        using var user = host.CreateClient(owner: "mallory");
        using var operatorClient = host.CreateClient(owner: "ops", claimType: RoleClaim);
        operatorClient.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.9");

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/mediagen/api/queue")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await user.GetAsync("/mediagen/api/queue")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await operatorClient.GetAsync("/mediagen/api/queue")).StatusCode);
    }

    [Fact]
    public async Task DeadLetter_ReplayAndDelete_NeedTheAntiforgeryToken()
    {
        await using var host = await StartAsync(worker: false);
        using var owner = host.CreateClient(owner: "frank");
        var replayed = await DeadLetteredJobAsync(host, owner);
        var deleted = await DeadLetteredJobAsync(host, owner);
        using var client = host.CreateClient();

        var letters = await client.GetFromJsonAsync<JsonElement>("/mediagen/api/dead-letters");
        Assert.Equal(new[] { replayed, deleted }.Order(), letters.EnumerateArray().Select(d => d.GetProperty("jobId").GetString()!).Order());
        var letter = letters.EnumerateArray().Single(d => d.GetProperty("jobId").GetString() == replayed);
        Assert.Equal("canceled", letter.GetProperty("jobStatus").GetString());
        Assert.Equal("frank", letter.GetProperty("ownerId").GetString());
        Assert.Equal("test_reason", letter.GetProperty("reason").GetString());

        using var noToken = await client.PostAsync($"/mediagen/api/dead-letters/dl-{replayed}/replay", null);
        await noToken.AssertProblemAsync(400, MediaGenerationApiErrorCodes.AntiforgeryFailed);
        var token = await client.GetFromJsonAsync<JsonElement>("/mediagen/api/antiforgery");
        using var wrongToken = new HttpRequestMessage(HttpMethod.Post, $"/mediagen/api/dead-letters/dl-{replayed}/replay");
        wrongToken.Headers.Add(token.GetProperty("headerName").GetString()!, "not-the-token");
        await (await client.SendAsync(wrongToken)).AssertProblemAsync(400, MediaGenerationApiErrorCodes.AntiforgeryFailed);
        Assert.Equal("canceled", (await owner.GetFromJsonAsync<JsonElement>($"/api/v1/generations/{replayed}")).Status());

        using var replay = await PostWithTokenAsync(client, token, $"/mediagen/api/dead-letters/dl-{replayed}/replay");
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        var job = await replay.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("pending", job.Status());
        Assert.Equal(2, job.GetProperty("run").GetInt32());

        using var delete = await PostWithTokenAsync(client, token, $"/mediagen/api/dead-letters/dl-{deleted}/delete");
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        using var again = await PostWithTokenAsync(client, token, $"/mediagen/api/dead-letters/dl-{deleted}/delete");
        await again.AssertProblemAsync(404, MediaGenerationApiErrorCodes.DeadLetterNotFound);
        Assert.Equal("canceled", (await owner.GetFromJsonAsync<JsonElement>($"/api/v1/generations/{deleted}")).Status());
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/mediagen/api/dead-letters")).EnumerateArray());
    }

    [Fact]
    public async Task Map_WithoutAddDashboard_Throws()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestApiHost.StartAsync(worker: false, application: app => app.MapMediaGenerationDashboard()));
        Assert.Contains("AddDashboard()", error.Message);
    }

    private static Task<TestApiHost> StartAsync(
        bool worker,
        Action<IServiceCollection>? services = null,
        Action<MediaGenerationDashboardOptions>? dashboard = null,
        Action<WebApplication>? application = null) =>
        TestApiHost.StartAsync(
            worker,
            services: services,
            mediaGenBuilder: b => b.AddDashboard(dashboard),
            application: app =>
            {
                application?.Invoke(app);
                app.MapMediaGenerationDashboard("/mediagen");
            });

    /// <summary>The host behind a reverse proxy on loopback: the client's address comes from X-Forwarded-For.</summary>
    private static void BehindProxy(WebApplication app)
    {
        var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor };
        forwarded.KnownProxies.Add(IPAddress.Loopback);
        app.UseForwardedHeaders(forwarded);
    }

    /// <summary>A job canceled while pending, whose message (id <c>dl-{job}</c>) is in the dead-letter store.</summary>
    private static async Task<string> DeadLetteredJobAsync(TestApiHost host, HttpClient owner)
    {
        var id = await owner.SubmitIdAsync(new { prompt = "to be dead-lettered", model = "procedural" });
        Assert.Equal(HttpStatusCode.OK, (await owner.PostAsync($"/api/v1/generations/{id}/cancel", null)).StatusCode);
        var queue = host.Services.GetRequiredService<IJobQueue>();
        await queue.EnqueueAsync(new QueueMessage(id) { MessageId = $"dl-{id}" });
        while (true)
        {
            var leases = await queue.ReceiveAsync(10, TimeSpan.FromSeconds(5));
            Assert.NotEmpty(leases);
            var found = false;
            foreach (var lease in leases)
            {
                if (lease.Message.MessageId == $"dl-{id}")
                {
                    await lease.DeadLetterAsync("test_reason", "dead-lettered by the test");
                    found = true;
                }
                else
                {
                    await lease.CompleteAsync();
                }
            }

            if (found)
            {
                return id;
            }
        }
    }

    private static Task<HttpResponseMessage> PostWithTokenAsync(HttpClient client, JsonElement token, string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path);
        request.Headers.Add(token.GetProperty("headerName").GetString()!, token.GetProperty("token").GetString());
        return client.SendAsync(request);
    }
}
