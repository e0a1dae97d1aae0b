namespace MediaGen.Browser.Tests;

/// <summary>
/// One headless Chromium for the test run: Debian's, launched by the path in <c>MEDIAGEN_CHROMIUM</c> (eng/servers/chromium.sh
/// installs it). Playwright's own browser download is switched off; its driver (node) ships inside the NuGet package.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    /// <summary>The browser.</summary>
    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser was not started.");

    /// <summary>Where screenshots go: the test results folder eng/test.sh names, or TestResults beside the binaries.</summary>
    public static string ScreenshotDirectory { get; } = Path.Combine(
        Environment.GetEnvironmentVariable("MEDIAGEN_TEST_RESULTS") is { Length: > 0 } results ? results : Path.Combine(AppContext.BaseDirectory, "TestResults"),
        "screenshots");

    public async Task InitializeAsync()
    {
        if (ServerEnvironment.SkipReason("MEDIAGEN_CHROMIUM") is not null)
        {
            return; // Skipped locally; every test says so through its attribute.
        }

        var chromium = ServerEnvironment.Require("MEDIAGEN_CHROMIUM");
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
        });
        Directory.CreateDirectory(ScreenshotDirectory);

        // The suite shares two cores with every other test assembly: give a page as long to show a state as an action gets.
        Assertions.SetDefaultExpectTimeout(15_000);
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}

/// <summary>
/// A page in a fresh browser context that records what a test must never see: console errors, uncaught page errors,
/// failed requests and any request to a host other than the one under test.
/// </summary>
public sealed class WatchedPage : IAsyncDisposable
{
    private readonly IBrowserContext _context;
    private readonly List<string> _problems = [];

    private WatchedPage(IBrowserContext context, IPage page, Uri origin)
    {
        _context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                Add($"console error: {message.Text}");
            }
        };
        page.PageError += (_, error) => Add($"page error: {error}");
        page.Request += (_, request) =>
        {
            var url = new Uri(request.Url);
            if (url.Scheme is "http" or "https" && url.Authority != origin.Authority)
            {
                Add($"external request: {request.Url}");
            }
        };
        page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                Add($"HTTP {response.Status}: {response.Request.Method} {response.Url}");
            }
        };
        page.RequestFailed += (_, request) =>
        {
            // An EventSource closed by navigation or a test ending is not a failure of the page.
            if (request.Failure is not "net::ERR_ABORTED")
            {
                Add($"request failed: {request.Url} {request.Failure}");
            }
        };
    }

    public IPage Page { get; }

    /// <summary>What went wrong so far.</summary>
    public IReadOnlyList<string> Problems
    {
        get
        {
            lock (_problems)
            {
                return [.. _problems];
            }
        }
    }

    public static async Task<WatchedPage> OpenAsync(BrowserFixture browser, Uri origin, int width = 1280, int height = 800)
    {
        var context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = origin.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
        });
        context.SetDefaultTimeout(15_000);
        var page = await context.NewPageAsync();
        return new WatchedPage(context, page, origin);
    }

    /// <summary>Saves a full-page screenshot under the test results folder.</summary>
    public Task ScreenshotAsync(string name) =>
        Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotDirectory, name + ".png"), FullPage = true });

    /// <summary>Asserts the page logged no console error, threw nothing and asked no other host.</summary>
    public void AssertNoProblems() => Assert.True(Problems.Count == 0, string.Join(Environment.NewLine, Problems));

    public async ValueTask DisposeAsync() => await _context.DisposeAsync();

    private void Add(string problem)
    {
        lock (_problems)
        {
            _problems.Add(problem);
        }
    }
}
