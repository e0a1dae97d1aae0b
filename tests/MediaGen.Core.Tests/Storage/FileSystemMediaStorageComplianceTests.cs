namespace MediaGen.Core.Tests.Storage;

/// <summary>
/// The storage compliance suite against <see cref="FileSystemMediaStorage"/> in a fresh temporary directory per test, writing
/// as it does on this system (through <see cref="LinuxFiles"/> on Linux).
/// </summary>
public class FileSystemMediaStorageComplianceTests : MediaStorageComplianceTests
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mediagen-fs-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new();

    protected override ValueTask<IMediaStorage> CreateStorageAsync()
    {
        var services = new ServiceCollection()
            .AddSingleton<TimeProvider>(_time)
            .AddSingleton(Options.Create(new FileSystemStorageOptions { RootPath = _root, PublicBaseUrl = "/media/" }))
            .BuildServiceProvider();
        var storage = ActivatorUtilities.CreateInstance<FileSystemMediaStorage>(services);
        storage.UseLinuxFiles &= UseLinuxFiles;
        return ValueTask.FromResult<IMediaStorage>(storage);
    }

    /// <summary>Whether the storage may write through <see cref="LinuxFiles"/> (it does where that is supported).</summary>
    protected virtual bool UseLinuxFiles => true;

    protected override ValueTask CleanUpAsync(IMediaStorage storage)
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }

        return ValueTask.CompletedTask;
    }

    // A MemoryStream copies what is left from its position, within its slice, in one write.
    [Fact]
    public async Task SaveAsync_MemoryStreamOverASlicePartlyRead_StoresTheRestAndReadsItToTheEnd()
    {
        var array = Bytes(1_000, seed: 7);
        var content = new MemoryStream(array, 100, 800, writable: false, publiclyVisible: true) { Position = 50 };

        var stored = await Storage.SaveAsync("job-slice/0.png", content, Png());

        Assert.Equal(750, stored.Size);
        Assert.Equal(content.Length, content.Position);
        Assert.Equal(array.AsSpan(150, 750).ToArray(), await ReadAllAsync("job-slice/0.png"));
        Assert.Empty(Directory.GetFiles(Path.Combine(_root, "job-slice"), "*.tmp"));
    }

    [Fact]
    public async Task DeletePrefixAsync_ConcurrentDeletesOfOneJob_NoneFailsAndNothingIsLeft()
    {
        for (var round = 0; round < 20; round++)
        {
            var prefix = $"job-race-{round}/";
            for (var i = 0; i < 30; i++)
            {
                await Storage.SaveAsync($"{prefix}{i}.png", new MemoryStream(Bytes(64, i)), Png());
            }

            using var start = new Barrier(8);
            var deletes = Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
            {
                start.SignalAndWait();
                return Storage.DeletePrefixAsync(prefix).AsTask();
            })).ToArray();

            var counts = await Task.WhenAll(deletes);
            Assert.Contains(counts, c => c > 0);
            Assert.False(Directory.Exists(Path.Combine(_root, prefix)));
        }
    }

    // The sidecar is lines of escaped key=value pairs: a value with the separators, line breaks or non-ASCII text in it,
    // and a content type with parameters, read back as they were given.
    [Fact]
    public async Task SaveAsync_MetadataThatNeedsEscaping_ReadsBackAsGiven()
    {
        var metadata = new Dictionary<string, string>
        {
            ["prompt"] = "a=b & c\nZürich, 東京 🌅",
            ["model"] = "owner/model:v1",
            ["empty"] = string.Empty,
        };

        var stored = await Storage.SaveAsync("job-escape/0.png", new MemoryStream(Bytes(10, seed: 1)), new StorageWriteOptions { ContentType = "image/png; charset=binary", Metadata = metadata });
        var info = await Storage.GetInfoAsync("job-escape/0.png");

        Assert.Equal(metadata, stored.Metadata);
        Assert.NotNull(info);
        Assert.Equal("image/png; charset=binary", info.ContentType);
        Assert.Equal(metadata, info.Metadata);
    }

    // A save that fails fails alike on every path: with the exception .NET's file API gives (a failed Linux call is made
    // again through it), no temporary file left, and what was stored before untouched. Renaming over a folder fails.
    [Fact]
    public async Task SaveAsync_KeyNamingAFolder_ThrowsIOExceptionAndLeavesTheFolderAsItWas()
    {
        await Storage.SaveAsync("job-folder/sub/0.png", new MemoryStream(Bytes(10, seed: 1)), Png());

        await Assert.ThrowsAnyAsync<IOException>(() => Storage.SaveAsync("job-folder/sub", new MemoryStream(Bytes(10, seed: 2)), Png()).AsTask());

        Assert.Empty(Directory.GetFiles(Path.Combine(_root, "job-folder"), "*.tmp", SearchOption.AllDirectories));
        Assert.Equal(Bytes(10, seed: 1), await ReadAllAsync("job-folder/sub/0.png"));
    }

    // A name longer than the file system takes fails when the temporary file is created, before any content is read.
    [Fact]
    public async Task SaveAsync_NameTooLongForTheFileSystem_ThrowsIOExceptionAndCreatesNoFile()
    {
        var content = new MemoryStream(Bytes(10, seed: 3));

        await Assert.ThrowsAnyAsync<IOException>(() => Storage.SaveAsync("job-long/" + new string('n', 250) + ".png", content, Png()).AsTask());

        Assert.Equal(0, content.Position);
        Assert.Empty(Directory.GetFiles(Path.Combine(_root, "job-long")));
    }

    // What the host serves comes from the one file opened: its content, its length and time, and the sidecar's type.
    [Fact]
    public async Task OpenToServe_StoredOutput_GivesItsContentTypeLengthAndLastWrite()
    {
        var content = Bytes(70_000, seed: 4);
        await Storage.SaveAsync("job-serve/0.png", new MemoryStream(content), Png());
        var written = File.GetLastWriteTimeUtc(Path.Combine(_root, "job-serve/0.png"));

        var served = ((FileSystemMediaStorage)Storage).OpenToServe("job-serve/0.png");

        Assert.NotNull(served);
        using var stream = served.Content;
        Assert.Equal("image/png", served.ContentType);
        Assert.Equal(new DateTimeOffset(written, TimeSpan.Zero), served.LastModified);
        Assert.Equal(70_000, stream.Length);
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.Equal(content, copy.ToArray());

        // A range read (an HTTP range request) seeks, and a read stops at the length opened.
        stream.Seek(69_990, SeekOrigin.Begin);
        var tail = new byte[64];
        Assert.Equal(10, await stream.ReadAsync(tail));
        Assert.Equal(content.AsSpan(69_990).ToArray(), tail.AsSpan(0, 10).ToArray());
        Assert.Equal(0, await stream.ReadAsync(tail));
    }

    // An object replaced while it is served is served whole, as it was when opened.
    [Fact]
    public async Task OpenToServe_ObjectReplacedAfterTheOpen_ServesTheOneOpened()
    {
        await Storage.SaveAsync("job-replace/0.png", new MemoryStream(Bytes(5_000, seed: 5)), Png());
        var served = ((FileSystemMediaStorage)Storage).OpenToServe("job-replace/0.png");
        Assert.NotNull(served);
        using var stream = served.Content;

        await Storage.SaveAsync("job-replace/0.png", new MemoryStream(Bytes(9, seed: 6)), Png());

        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.Equal(Bytes(5_000, seed: 5), copy.ToArray());
    }

    [Fact]
    public async Task OpenToServe_MissingFileOrAKeyNamingAFolder_IsNull()
    {
        await Storage.SaveAsync("job-none/sub/0.png", new MemoryStream(Bytes(10, seed: 1)), Png());
        var storage = (FileSystemMediaStorage)Storage;

        Assert.Null(storage.OpenToServe("job-none/1.png"));
        Assert.Null(storage.OpenToServe("job-none/sub"));
        Assert.Null(storage.OpenToServe("job-none-at-all/0.png"));
        Assert.Throws<InvalidStorageKeyException>(() => storage.OpenToServe("job-none/sub/0.png.meta"));
    }

    // A file without its sidecar (copied in by hand, or a sidecar lost) is served as bytes, as GetInfoAsync describes it;
    // a sidecar written with Windows line ends reads as the same type and metadata.
    [Fact]
    public async Task OpenToServe_WithoutASidecarOrWithWindowsLineEnds_ReadsTheTypeAsGetInfoDoes()
    {
        var storage = (FileSystemMediaStorage)Storage;
        await Storage.SaveAsync("job-sidecar/0.png", new MemoryStream(Bytes(10, seed: 1)), Png());
        await Storage.SaveAsync("job-sidecar/1.png", new MemoryStream(Bytes(10, seed: 1)), Png());
        File.Delete(Path.Combine(_root, "job-sidecar/0.png.meta"));
        await File.WriteAllTextAsync(Path.Combine(_root, "job-sidecar/1.png.meta"), "image/webp\r\nmodel=owner%2Fmodel\r\n");

        var bare = storage.OpenToServe("job-sidecar/0.png")!;
        bare.Content.Dispose();
        Assert.Equal("application/octet-stream", bare.ContentType);
        Assert.Equal("application/octet-stream", (await Storage.GetInfoAsync("job-sidecar/0.png"))!.ContentType);
        var windows = storage.OpenToServe("job-sidecar/1.png")!;
        windows.Content.Dispose();
        Assert.Equal("image/webp", windows.ContentType);
        var info = await Storage.GetInfoAsync("job-sidecar/1.png");
        Assert.Equal("image/webp", info!.ContentType);
        Assert.Equal(new Dictionary<string, string> { ["model"] = "owner/model" }, info.Metadata);
    }

    // A sidecar longer than the first read buffer (a long prompt in the metadata, escaped to three bytes a byte).
    [Fact]
    public async Task GetInfoAsync_SidecarOfManyKilobytes_ReadsBackWhole()
    {
        var metadata = new Dictionary<string, string> { ["prompt"] = string.Concat(Enumerable.Repeat("é, ", 3_000)), ["model"] = "m" };

        await Storage.SaveAsync("job-long-sidecar/0.png", new MemoryStream(Bytes(10, seed: 1)), new StorageWriteOptions { ContentType = "image/png", Metadata = metadata });
        var info = await Storage.GetInfoAsync("job-long-sidecar/0.png");

        Assert.True(new FileInfo(Path.Combine(_root, "job-long-sidecar/0.png.meta")).Length > 20_000);
        Assert.Equal(metadata, info!.Metadata);
    }

    // The host serves the root itself, so the URL is relative: the public base URL plus the key, signed until an expiry.
    protected override async Task AssertReadUrlServesAsync(string key, Uri url, byte[] expected)
    {
        Assert.False(url.IsAbsoluteUri);
        Assert.StartsWith("/media/" + key + "?expires=", url.OriginalString, StringComparison.Ordinal);
        var query = System.Web.HttpUtility.ParseQueryString(url.OriginalString[url.OriginalString.IndexOf('?', StringComparison.Ordinal)..]);
        var signature = ((FileSystemMediaStorage)Storage).Signature;
        Assert.True(signature.IsValid(key, query["expires"], query["signature"], _time.GetUtcNow()));
        Assert.False(signature.IsValid(key + "x", query["expires"], query["signature"], _time.GetUtcNow()));
        Assert.False(signature.IsValid(key, query["expires"], query["signature"], _time.GetUtcNow().AddHours(2)));
        Assert.Equal(expected, await File.ReadAllBytesAsync(Path.Combine(_root, key)));
    }
}

/// <summary>
/// The same suite with the storage on .NET's file API alone: the path of every system but Linux, and the one a failed
/// Linux call falls back to.
/// </summary>
public sealed class FileSystemMediaStoragePortableComplianceTests : FileSystemMediaStorageComplianceTests
{
    protected override bool UseLinuxFiles => false;
}
