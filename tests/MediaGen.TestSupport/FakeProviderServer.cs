using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging;

namespace MediaGen.TestSupport;

/// <summary>
/// The base of a fake provider API: a minimal-API server on a free 127.0.0.1 port that derived classes map their
/// routes onto, which records every request it receives and lets a test wait for one instead of polling.
/// </summary>
public abstract class FakeProviderServer : IAsyncDisposable
{
    private readonly RequestLog _requests = new();
    private WebApplication? _app;

    /// <summary>The server's base URL, ending in <c>/</c>.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>Waits until the server has received a request whose method and path match.</summary>
    /// <param name="match">Takes the method and the path.</param>
    /// <param name="what">What is awaited, for the timeout message.</param>
    /// <returns>A task that completes when such a request has arrived.</returns>
    public Task WaitForRequestAsync(Func<string, string, bool> match, string what) => _requests.WaitForAsync(match, what);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await OnDisposingAsync();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Starts the server with the routes <see cref="Map"/> adds.</summary>
    /// <returns>A task that completes when the server listens.</returns>
    protected async Task StartServerAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.Use(async (HttpContext context, RequestDelegate next) =>
        {
            _requests.Add(context.Request.Method, context.Request.Path.Value ?? string.Empty);
            await next(context);
        });
        Map(_app);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUrl = new Uri(address.TrimEnd('/') + "/");
    }

    /// <summary>Adds the provider's routes.</summary>
    /// <param name="app">The application.</param>
    protected abstract void Map(WebApplication app);

    /// <summary>Releases what the fake holds back (gates a test left closed) before the server stops.</summary>
    /// <returns>A task that completes when done.</returns>
    protected virtual ValueTask OnDisposingAsync() => ValueTask.CompletedTask;

    private sealed class RequestLog
    {
        private readonly Lock _lock = new();
        private readonly List<(string Method, string Path)> _seen = [];
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Add(string method, string path)
        {
            TaskCompletionSource changed;
            lock (_lock)
            {
                _seen.Add((method, path));
                changed = _changed;
                _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            changed.TrySetResult();
        }

        public async Task WaitForAsync(Func<string, string, bool> match, string what)
        {
            using var limit = new CancellationTokenSource(Waits.Limit);
            while (true)
            {
                Task changed;
                lock (_lock)
                {
                    if (_seen.Any(r => match(r.Method, r.Path)))
                    {
                        return;
                    }

                    changed = _changed.Task;
                }

                await Waits.BoundedAsync(changed, limit.Token, what);
            }
        }
    }
}
