namespace MediaGen.Testing;

/// <summary>Disposes what a fixture created, whichever disposal it supports.</summary>
internal static class Disposal
{
    /// <summary>Disposes <paramref name="owned"/> asynchronously when it can, else synchronously; anything else is left alone.</summary>
    /// <param name="owned">What to dispose; null does nothing.</param>
    /// <returns>A task that completes once it is disposed.</returns>
    public static async ValueTask DisposeAsync(object? owned)
    {
        switch (owned)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }
}
