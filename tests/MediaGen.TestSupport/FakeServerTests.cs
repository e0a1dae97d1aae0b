namespace MediaGen.TestSupport;

/// <summary>
/// The base of a test class that talks to a fake provider server: a fresh server per test, an <see cref="HttpClient"/>
/// without a client-wide timeout, and a temporary directory for file-system storage, all disposed after the test.
/// </summary>
/// <typeparam name="TServer">The fake server.</typeparam>
public abstract class FakeServerTests<TServer> : IAsyncLifetime
    where TServer : FakeProviderServer
{
    private TServer? _server;

    /// <summary>The test's server.</summary>
    protected TServer Server => _server ?? throw new InvalidOperationException("The server starts in InitializeAsync.");

    /// <summary>A client for the test's calls; the generator under test is handed it where it takes a client.</summary>
    protected HttpClient Http { get; } = new() { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>A directory for the test's file-system storage.</summary>
    protected TempDirectory Root { get; } = new("generator-tests");

    /// <inheritdoc />
    public async Task InitializeAsync() => _server = await StartServerAsync();

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Http.Dispose();
        Root.Dispose();
    }

    /// <summary>Starts the test's server.</summary>
    /// <returns>The server.</returns>
    protected abstract Task<TServer> StartServerAsync();
}
