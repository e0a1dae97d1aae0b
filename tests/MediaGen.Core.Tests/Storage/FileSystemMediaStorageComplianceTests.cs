using MediaGen.Compliance;
using MediaGen.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace MediaGen.Core.Tests.Storage;

/// <summary>The storage compliance suite against <see cref="FileSystemMediaStorage"/> in a fresh temporary directory per test.</summary>
public sealed class FileSystemMediaStorageComplianceTests : MediaStorageComplianceTests
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mediagen-fs-" + Guid.NewGuid().ToString("N"));

    protected override ValueTask<IMediaStorage> CreateStorageAsync()
    {
        var services = new ServiceCollection()
            .AddSingleton<TimeProvider>(new FakeTimeProvider())
            .AddSingleton(Options.Create(new FileSystemStorageOptions { RootPath = _root, PublicBaseUrl = "/media/" }))
            .BuildServiceProvider();
        return ValueTask.FromResult<IMediaStorage>(ActivatorUtilities.CreateInstance<FileSystemMediaStorage>(services));
    }

    protected override ValueTask CleanUpAsync(IMediaStorage storage)
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }

        return ValueTask.CompletedTask;
    }

    // The host serves the root itself, so the URL is relative: the public base URL plus the key.
    protected override async Task AssertReadUrlServesAsync(string key, Uri url, byte[] expected)
    {
        Assert.False(url.IsAbsoluteUri);
        Assert.Equal("/media/" + key, url.OriginalString);
        Assert.Equal(expected, await File.ReadAllBytesAsync(Path.Combine(_root, key)));
    }
}
