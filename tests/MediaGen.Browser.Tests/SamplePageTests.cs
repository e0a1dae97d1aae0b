namespace MediaGen.Browser.Tests;

/// <summary>The sample's page to try MediaGen, in a real browser against the sample host on the in-memory defaults.</summary>
[Collection(BrowserCollection.Name)]
public sealed class SamplePageTests(BrowserFixture browser) : IDisposable
{
    private readonly SampleHost _host = new();

    public void Dispose() => _host.Dispose();

    [ServerFact("MEDIAGEN_CHROMIUM")]
    public async Task Generate_ShowsImageAndThumbnail_AndGalleryKeepsItAfterReload()
    {
        await using var page = await WatchedPage.OpenAsync(browser, _host.Address);
        await page.Page.GotoAsync("/");
        var prompt = "a red kite over a green hill " + Guid.NewGuid().ToString("N")[..6];
        await Assertions.Expect(page.Page.Locator("#price")).ToHaveTextAsync("Costs 1 credit");
        await page.Page.FillAsync("#prompt", prompt);
        await page.Page.ClickAsync("#submit");

        await Assertions.Expect(page.Page.Locator("#status")).ToHaveTextAsync("succeeded");
        await AssertLoadedAsync(page.Page.Locator("#images img.output"));
        await AssertLoadedAsync(page.Page.Locator("#images img.thumbnail"));
        var jobId = (await page.Page.Locator("#jobId").TextContentAsync())!;
        var tile = page.Page.Locator($"#gallery li[data-id='{jobId}'] img");
        await AssertLoadedAsync(tile);
        Assert.Contains("thumb", await tile.GetAttributeAsync("src"), StringComparison.OrdinalIgnoreCase);
        await page.ScreenshotAsync("sample-desktop");

        await page.Page.GotoAsync("/");
        await AssertLoadedAsync(page.Page.Locator($"#gallery li[data-id='{jobId}'] img"));
        await Assertions.Expect(page.Page.Locator($"#gallery li[data-id='{jobId}']")).ToHaveAttributeAsync("title", prompt);
        page.AssertNoProblems();
    }

    [ServerFact("MEDIAGEN_CHROMIUM")]
    public async Task PhoneViewport_HasNoHorizontalScroll()
    {
        await using var page = await WatchedPage.OpenAsync(browser, _host.Address, width: 390, height: 844);
        await page.Page.GotoAsync("/");
        await page.Page.FillAsync("#prompt", "a long prompt that wraps " + string.Concat(Enumerable.Repeat("and keeps going ", 20)));
        await page.Page.ClickAsync("#submit");
        await Assertions.Expect(page.Page.Locator("#status")).ToHaveTextAsync("succeeded");
        await AssertLoadedAsync(page.Page.Locator("#images img.output"));
        await AssertLoadedAsync(page.Page.Locator("#gallery li img").First);

        var scrollWidth = await page.Page.EvaluateAsync<int>("document.documentElement.scrollWidth");
        Assert.Equal(390, scrollWidth);
        await page.ScreenshotAsync("sample-phone");
        page.AssertNoProblems();
    }

    [ServerFact("MEDIAGEN_CHROMIUM")]
    public async Task Price_FollowsModelAndImageCount()
    {
        await using var page = await WatchedPage.OpenAsync(browser, _host.Address);
        await page.Page.GotoAsync("/");
        await Assertions.Expect(page.Page.Locator("#price")).ToHaveTextAsync("Costs 1 credit");
        await page.Page.SelectOptionAsync("#outputCount", "3");
        await Assertions.Expect(page.Page.Locator("#price")).ToHaveTextAsync("Costs 3 credits");
        await page.Page.SelectOptionAsync("#model", "procedural-hd");
        await Assertions.Expect(page.Page.Locator("#price")).ToHaveTextAsync("Costs 12 credits");
        page.AssertNoProblems();
    }

    private static async Task AssertLoadedAsync(ILocator image)
    {
        await Assertions.Expect(image).ToBeVisibleAsync();
        await image.Page.WaitForFunctionAsync("img => img.complete && img.naturalWidth > 0", await image.ElementHandleAsync());
    }
}

/// <summary>Cancel and retry from the page, on jobs slow enough to be caught running.</summary>
[Collection(BrowserCollection.Name)]
public sealed class SamplePageSlowJobTests(BrowserFixture browser) : IDisposable
{
    private readonly SampleHost _host = new(new Dictionary<string, string?>
    {
        ["MediaGen:Generators:Procedural:SimulatedDuration"] = "00:01:00",
        ["MediaGen:Generators:Procedural:ProgressSteps"] = "600",
    });

    public void Dispose() => _host.Dispose();

    [ServerFact("MEDIAGEN_CHROMIUM")]
    public async Task CancelThenRetry_RunsTheJobAgain()
    {
        await using var page = await WatchedPage.OpenAsync(browser, _host.Address);
        await page.Page.GotoAsync("/");
        await page.Page.FillAsync("#prompt", "a slow painting");
        await page.Page.ClickAsync("#submit");
        await Assertions.Expect(page.Page.Locator("#status")).ToHaveTextAsync("processing");

        await page.Page.ClickAsync("#cancel");
        await Assertions.Expect(page.Page.Locator("#status")).ToHaveTextAsync("canceled");
        await Assertions.Expect(page.Page.Locator("#retry")).ToBeEnabledAsync();

        await page.Page.ClickAsync("#retry");
        await Assertions.Expect(page.Page.Locator("#status")).ToHaveTextAsync("processing");
        await Assertions.Expect(page.Page.Locator("#cancel")).ToBeEnabledAsync();
        await page.Page.ClickAsync("#cancel");
        await Assertions.Expect(page.Page.Locator("#status")).ToHaveTextAsync("canceled");
        page.AssertNoProblems();
    }
}

/// <summary>Jobs that wait: no worker runs, so the page shows each job's place in the queue.</summary>
[Collection(BrowserCollection.Name)]
public sealed class SamplePageQueueTests(BrowserFixture browser) : IDisposable
{
    private readonly SampleHost _host = new(new Dictionary<string, string?> { ["MediaGen:Worker:Enabled"] = "false" });

    public void Dispose() => _host.Dispose();

    [ServerFact("MEDIAGEN_CHROMIUM")]
    public async Task PendingJobs_ShowTheirPlaceInTheQueue()
    {
        await using var page = await WatchedPage.OpenAsync(browser, _host.Address);
        await page.Page.GotoAsync("/");
        await page.Page.FillAsync("#prompt", "first in line");
        await page.Page.ClickAsync("#submit");
        await Assertions.Expect(page.Page.Locator("#queuePosition")).ToHaveTextAsync("next in the queue");

        await page.Page.FillAsync("#prompt", "second in line");
        await page.Page.ClickAsync("#submit");
        await Assertions.Expect(page.Page.Locator("#status")).ToHaveTextAsync("pending");
        await Assertions.Expect(page.Page.Locator("#queuePosition")).ToHaveTextAsync("1 ahead in the queue");
        await page.ScreenshotAsync("sample-queued");

        await page.Page.ClickAsync("#cancel");
        await Assertions.Expect(page.Page.Locator("#status")).ToHaveTextAsync("canceled");
        await Assertions.Expect(page.Page.Locator("#queuePosition")).ToHaveTextAsync("");
        page.AssertNoProblems();
    }
}
