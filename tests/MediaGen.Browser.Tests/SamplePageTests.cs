using Microsoft.Playwright;

namespace MediaGen.Browser.Tests;

[Collection(BrowserCollection.Name)]
public sealed class SamplePageTests(BrowserFixture browser) : IDisposable
{
    private readonly SampleHost _host = new();

    public void Dispose() => _host.Dispose();

    [ServerFact("MEDIAGEN_CHROMIUM")]
    public async Task Page_Loads_WithoutErrors()
    {
        await using var page = await WatchedPage.OpenAsync(browser, _host.Address);
        await page.Page.GotoAsync("/");
        await Assertions.Expect(page.Page.Locator("h1")).ToContainTextAsync("MediaGen");
        await page.ScreenshotAsync("sample-smoke");
        page.AssertNoProblems();
    }
}
