using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace MediaGen.Browser.Tests;

/// <summary>The operator dashboard of the sample host (<c>/mediagen</c>, local requests only), in a real browser.</summary>
[Collection(BrowserCollection.Name)]
public sealed class DashboardTests : IDisposable
{
    private readonly BrowserFixture _browser;
    private readonly FlakyGenerator _flaky = new();
    private readonly SampleHost _host;
    private readonly HttpClient _http;

    public DashboardTests(BrowserFixture browser)
    {
        _browser = browser;
        _host = new SampleHost(services: s =>
        {
            s.AddSingleton<IMediaGenerator>(_flaky);
            s.Configure<MediaGenerationOptions>(o => o.MaxAttempts = 2);
            s.Configure<MediaGenerationWorkerOptions>(o =>
            {
                o.Retry.Delay = TimeSpan.FromMilliseconds(20);
                o.Retry.UseJitter = false;
                o.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
            });
        });
        _http = new HttpClient { BaseAddress = _host.Address };
    }

    public void Dispose()
    {
        _http.Dispose();
        _host.Dispose();
    }

    [ServerFact("MEDIAGEN_CHROMIUM")]
    public async Task DeadLetter_Replay_TurnsTheJobSucceeded()
    {
        var failed = await SubmitAsync("a prompt the flaky model refuses");
        await WaitForStatusAsync(failed, "failed");
        var running = await SubmitAsync("a slow prompt that keeps running");
        await WaitForStatusAsync(running, "processing");
        await using var page = await WatchedPage.OpenAsync(_browser, _host.Address, width: 1280, height: 900);

        await page.Page.GotoAsync("/mediagen");
        var deadLetter = page.Page.Locator($"#deadLetterRows tr:has(a[data-job='{failed}'])");
        await Assertions.Expect(deadLetter).ToContainTextAsync(MediaGenErrorCodes.AttemptsExhausted);
        await Assertions.Expect(page.Page.Locator($"#failureRows tr:has(a[data-job='{failed}'])")).ToContainTextAsync("The flaky model is down.");
        await Assertions.Expect(page.Page.Locator($"#runningRows tr:has(a[data-job='{running}'])")).ToContainTextAsync(FlakyGenerator.ModelId);
        await Assertions.Expect(page.Page.Locator("#workerRows tr")).ToContainTextAsync("1 / ");
        await Assertions.Expect(page.Page.Locator("#states")).ToContainTextAsync("processing");
        await page.ScreenshotAsync("dashboard");

        _flaky.Failing = false;
        await deadLetter.Locator("button.replay").ClickAsync();

        // The replay is applied once its dead letter is gone; from there the job's events carry it to the end (the events
        // of the job while it was still failed would end at once).
        await Assertions.Expect(page.Page.Locator("#deadLetterRows")).ToContainTextAsync("No dead letter.");
        await WaitForStatusAsync(failed, "succeeded");

        // The replayed job left the failures panel; its detail opens from its link.
        await page.Page.EvaluateAsync("id => location.hash = 'job=' + id", failed);
        await Assertions.Expect(page.Page.Locator("#detailFields")).ToContainTextAsync("succeeded");
        await Assertions.Expect(page.Page.Locator("#detailFields")).ToContainTextAsync("1 / 2");
        await Assertions.Expect(page.Page.Locator("#detailEvents tr").Last).ToContainTextAsync("succeeded");
        await Assertions.Expect(page.Page.Locator("#detailEvents")).ToContainTextAsync("retried");
        var thumbnail = page.Page.Locator("#detailOutputs img.thumbnail");
        await Assertions.Expect(thumbnail).ToBeVisibleAsync();
        await page.Page.WaitForFunctionAsync("img => img.complete && img.naturalWidth > 0", await thumbnail.ElementHandleAsync());
        await page.ScreenshotAsync("dashboard-job");

        await _http.PostAsync($"/api/v1/generations/{running}/cancel", null);
        page.AssertNoProblems();
    }

    [ServerFact("MEDIAGEN_CHROMIUM")]
    public async Task DeadLetter_Delete_RemovesItAndLeavesTheJobFailed()
    {
        var failed = await SubmitAsync("another refused prompt");
        await WaitForStatusAsync(failed, "failed");
        await using var page = await WatchedPage.OpenAsync(_browser, _host.Address, width: 390, height: 844);
        page.Page.Dialog += (_, dialog) => dialog.AcceptAsync();

        await page.Page.GotoAsync("/mediagen/");
        var deadLetter = page.Page.Locator($"#deadLetterRows tr:has(a[data-job='{failed}'])");
        await deadLetter.Locator("button.delete").ClickAsync();
        await Assertions.Expect(page.Page.Locator("#deadLetterRows")).ToContainTextAsync("No dead letter.");
        Assert.Equal("failed", await StatusAsync(failed));
        Assert.Equal(390, await page.Page.EvaluateAsync<int>("document.documentElement.scrollWidth"));
        await page.ScreenshotAsync("dashboard-phone");
        page.AssertNoProblems();
    }

    [ServerFact("MEDIAGEN_CHROMIUM")]
    public async Task Action_WithoutAntiforgeryToken_IsRefused()
    {
        var failed = await SubmitAsync("a refused prompt for the token test");
        await WaitForStatusAsync(failed, "failed");

        using var response = await _http.PostAsync($"/mediagen/api/dead-letters/{failed}/replay", null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("antiforgery_failed", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        Assert.Equal("failed", await StatusAsync(failed));
    }

    private async Task<string> SubmitAsync(string prompt)
    {
        using var response = await _http.PostAsJsonAsync("/api/v1/generations", new { prompt, model = FlakyGenerator.ModelId });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    private async Task<string> StatusAsync(string id) =>
        (await _http.GetFromJsonAsync<JsonElement>($"/api/v1/generations/{id}")).GetProperty("status").GetString()!;

    private Task WaitForStatusAsync(string id, string status) =>
        _http.WaitForJobAsync(id, job => job.GetProperty("status").GetString() == status);
}
