using System.Security.Cryptography;

namespace MediaGen.Testing;

/// <summary>
/// The <see cref="IMediaStorage"/> contract, written once. Every implementation's test project inherits this class and
/// supplies a fresh, isolated storage per test (a unique bucket, container, prefix or directory). Classes for storages
/// that need a server carry <see cref="RequiresServerAttribute"/>.
/// </summary>
public abstract class MediaStorageComplianceTests : IAsyncLifetime
{
    /// <summary>Job-like metadata used throughout the suite.</summary>
    protected static readonly IReadOnlyDictionary<string, string> JobMetadata = new Dictionary<string, string>
    {
        ["job-id"] = "job-0001",
        ["owner"] = "owner-42",
        ["model"] = "flux-schnell",
    };

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private IMediaStorage? _storage;

    /// <summary>The storage under test, created for this test by <see cref="CreateStorageAsync"/>.</summary>
    protected IMediaStorage Storage => _storage ?? throw new InvalidOperationException("The storage is created in InitializeAsync.");

    /// <summary>
    /// The length of the large, non-seekable stream: larger than one S3 multipart part (5 MiB) and one default Blob block,
    /// and not a multiple of either, so the last part is short.
    /// </summary>
    protected virtual int LargeContentLength => (6 * 1024 * 1024) + 12_345;

    /// <summary>Creates a fresh, isolated storage for one test.</summary>
    /// <returns>The storage.</returns>
    protected abstract ValueTask<IMediaStorage> CreateStorageAsync();

    /// <summary>Removes what a test left behind; runs after each test, before the storage is disposed.</summary>
    /// <param name="storage">The storage the test used.</param>
    /// <returns>A task that completes when done.</returns>
    protected virtual ValueTask CleanUpAsync(IMediaStorage storage) => ValueTask.CompletedTask;

    /// <summary>
    /// Checks that <paramref name="url"/>, returned by <see cref="IMediaStorage.GetReadUrlAsync"/> for <paramref name="key"/>,
    /// serves <paramref name="expected"/>. By default it fetches the URL with <see cref="HttpClient"/>; storages whose
    /// URLs are relative (served by the host itself) override this.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="url">The URL.</param>
    /// <param name="expected">The stored bytes.</param>
    /// <returns>A task that completes when checked.</returns>
    protected virtual async Task AssertReadUrlServesAsync(string key, Uri url, byte[] expected)
    {
        Assert.True(url.IsAbsoluteUri, $"'{url}' is not absolute.");
        using var response = await Http.GetAsync(url);
        Assert.True(response.IsSuccessStatusCode, $"GET {url} returned {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Equal(expected, await response.Content.ReadAsByteArrayAsync());
    }

    /// <summary>
    /// Checks that failed saves left nothing behind that the service keeps (and bills) apart from objects, such as an
    /// S3 multipart upload that was never completed or aborted. Storages without such uploads keep the default.
    /// </summary>
    /// <returns>A task that completes when checked.</returns>
    protected virtual Task AssertNoUnfinishedUploadsAsync() => Task.CompletedTask;

    /// <inheritdoc />
    public async Task InitializeAsync() => _storage = await CreateStorageAsync();

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_storage is null)
        {
            return;
        }

        try
        {
            await CleanUpAsync(_storage);
        }
        finally
        {
            await Disposal.DisposeAsync(_storage);
        }
    }

    [ComplianceFact]
    public async Task SaveAsync_SeekableStream_RoundTripsContentContentTypeAndMetadata()
    {
        var content = Bytes(100_000, seed: 1);

        var stored = await Storage.SaveAsync("job-0001/0.png", new MemoryStream(content), Png(JobMetadata));

        Assert.Equal("job-0001/0.png", stored.Key);
        Assert.Equal(content.Length, stored.Size);
        Assert.Equal("image/png", stored.ContentType);
        AssertMetadata(JobMetadata, stored.Metadata);

        var info = await Storage.GetInfoAsync("job-0001/0.png");
        Assert.NotNull(info);
        Assert.Equal("job-0001/0.png", info.Key);
        Assert.Equal(content.Length, info.Size);
        Assert.Equal("image/png", info.ContentType);
        AssertMetadata(JobMetadata, info.Metadata);

        Assert.Equal(content, await ReadAllAsync("job-0001/0.png"));
    }

    [ComplianceFact]
    public async Task SaveAsync_NoMetadata_StoresEmptyMetadata()
    {
        var stored = await Storage.SaveAsync("job-0001/0.webp", new MemoryStream(Bytes(10, seed: 2)), new StorageWriteOptions { ContentType = "image/webp" });

        Assert.Empty(stored.Metadata);
        var info = await Storage.GetInfoAsync("job-0001/0.webp");
        Assert.NotNull(info);
        Assert.Equal("image/webp", info.ContentType);
        Assert.Empty(info.Metadata);
    }

    [ComplianceFact]
    public async Task SaveAsync_NonSeekableStreamOfUnknownLength_StoresEveryByte()
    {
        var length = LargeContentLength;
        var expectedHash = SHA256.HashData(new GeneratedStream(length, seed: 3));

        var stored = await Storage.SaveAsync("job-0002/0.png", new GeneratedStream(length, seed: 3), Png(JobMetadata));

        Assert.Equal(length, stored.Size);
        var info = await Storage.GetInfoAsync("job-0002/0.png");
        Assert.NotNull(info);
        Assert.Equal(length, info.Size);
        AssertMetadata(JobMetadata, info.Metadata);
        await using var read = await Storage.OpenReadAsync("job-0002/0.png");
        Assert.Equal(expectedHash, await SHA256.HashDataAsync(read));
    }

    [ComplianceFact]
    public async Task SaveAsync_StreamReturningSmallChunks_StoresEveryByte()
    {
        var content = Bytes(70_001, seed: 4);

        await Storage.SaveAsync("job-0003/0.png", new TricklingStream(content, chunk: 997), Png());

        Assert.Equal(content, await ReadAllAsync("job-0003/0.png"));
    }

    [ComplianceFact]
    public async Task SaveAsync_EmptyNonSeekableStream_StoresEmptyObject()
    {
        var stored = await Storage.SaveAsync("job-0004/0.png", new GeneratedStream(0, seed: 5), Png(JobMetadata));

        Assert.Equal(0, stored.Size);
        var info = await Storage.GetInfoAsync("job-0004/0.png");
        Assert.NotNull(info);
        Assert.Equal(0, info.Size);
        Assert.Empty(await ReadAllAsync("job-0004/0.png"));
    }

    [ComplianceFact]
    public async Task SaveAsync_SameKeyTwice_LeavesOneObjectWithTheNewContent()
    {
        await Storage.SaveAsync("job-0005/0.png", new GeneratedStream(300_000, seed: 6), Png(JobMetadata));
        var second = Bytes(1_234, seed: 7);
        var secondMetadata = new Dictionary<string, string> { ["job-id"] = "job-0005", ["owner"] = "owner-43" };

        var stored = await Storage.SaveAsync("job-0005/0.png", new TricklingStream(second, chunk: 100), new StorageWriteOptions { ContentType = "image/jpeg", Metadata = secondMetadata });

        Assert.Equal(second.Length, stored.Size);
        var info = await Storage.GetInfoAsync("job-0005/0.png");
        Assert.NotNull(info);
        Assert.Equal(second.Length, info.Size);
        Assert.Equal("image/jpeg", info.ContentType);
        AssertMetadata(secondMetadata, info.Metadata);
        Assert.Equal(second, await ReadAllAsync("job-0005/0.png"));
        Assert.Equal(1, await Storage.DeletePrefixAsync("job-0005/"));
    }

    [ComplianceFact]
    public async Task SaveAsync_ConcurrentSavesToDifferentKeys_StoresEach()
    {
        var contents = Enumerable.Range(0, 8).Select(i => Bytes(150_000 + i, seed: 100 + i)).ToArray();

        await Task.WhenAll(contents.Select((c, i) =>
            Storage.SaveAsync($"job-0006/{i}.png", new TricklingStream(c, chunk: 16_384), Png(JobMetadata)).AsTask()));

        for (var i = 0; i < contents.Length; i++)
        {
            Assert.Equal(contents[i], await ReadAllAsync($"job-0006/{i}.png"));
        }
    }

    [ComplianceFact]
    public async Task SaveAsync_CanceledToken_ThrowsAndStoresNothing()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Storage.SaveAsync("job-0007/0.png", new MemoryStream(Bytes(10, seed: 8)), Png(), cts.Token).AsTask());

        Assert.Null(await Storage.GetInfoAsync("job-0007/0.png"));
    }

    [ComplianceFact]
    public async Task GetInfoAsync_MissingKey_ReturnsNull()
    {
        Assert.Null(await Storage.GetInfoAsync("job-0008/0.png"));
    }

    [ComplianceFact]
    public async Task GetInfoAsync_KeyThatIsOnlyAPrefixOfStoredKeys_ReturnsNull()
    {
        await Storage.SaveAsync("job-0009/0.png", new MemoryStream(Bytes(10, seed: 9)), Png());

        Assert.Null(await Storage.GetInfoAsync("job-0009"));
        await Assert.ThrowsAsync<StorageObjectNotFoundException>(() => Storage.OpenReadAsync("job-0009").AsTask());
    }

    [ComplianceFact]
    public async Task OpenReadAsync_MissingKey_ThrowsStorageObjectNotFound()
    {
        var e = await Assert.ThrowsAsync<StorageObjectNotFoundException>(() => Storage.OpenReadAsync("job-0010/0.png").AsTask());

        Assert.Equal("job-0010/0.png", e.Key);
        Assert.Equal(MediaGenErrorCodes.StorageObjectNotFound, e.ErrorCode);
    }

    [ComplianceFact]
    public async Task DeleteAsync_ExistingKey_ReturnsTrueAndRemovesIt()
    {
        await Storage.SaveAsync("job-0011/0.png", new MemoryStream(Bytes(10, seed: 10)), Png());
        await Storage.SaveAsync("job-0011/1.png", new MemoryStream(Bytes(10, seed: 11)), Png());

        Assert.True(await Storage.DeleteAsync("job-0011/0.png"));

        Assert.Null(await Storage.GetInfoAsync("job-0011/0.png"));
        await Assert.ThrowsAsync<StorageObjectNotFoundException>(() => Storage.OpenReadAsync("job-0011/0.png").AsTask());
        Assert.NotNull(await Storage.GetInfoAsync("job-0011/1.png"));
    }

    [ComplianceFact]
    public async Task DeleteAsync_MissingKey_ReturnsFalse()
    {
        Assert.False(await Storage.DeleteAsync("job-0012/0.png"));
    }

    [ComplianceFact]
    public async Task DeleteAsync_SameKeyTwice_ReturnsTrueThenFalse()
    {
        await Storage.SaveAsync("job-0013/0.png", new MemoryStream(Bytes(10, seed: 12)), Png());

        Assert.True(await Storage.DeleteAsync("job-0013/0.png"));
        Assert.False(await Storage.DeleteAsync("job-0013/0.png"));
    }

    [ComplianceFact]
    public async Task DeletePrefixAsync_JobPrefix_RemovesExactlyThatJobsObjects()
    {
        string[] doomed = ["job-0014/0.png", "job-0014/1.png", "job-0014/thumbs/0.webp"];
        string[] kept = ["job-0014x/0.png", "job-00140/0.png", "other/job-0014/0.png"];
        foreach (var key in doomed.Concat(kept))
        {
            await Storage.SaveAsync(key, new MemoryStream(Bytes(100, seed: key.Length)), Png());
        }

        Assert.Equal(doomed.Length, await Storage.DeletePrefixAsync("job-0014/"));

        foreach (var key in doomed)
        {
            Assert.Null(await Storage.GetInfoAsync(key));
        }

        foreach (var key in kept)
        {
            Assert.NotNull(await Storage.GetInfoAsync(key));
        }
    }

    [ComplianceFact]
    public async Task DeletePrefixAsync_ManyObjects_RemovesAll()
    {
        // More than one page of a small listing, and more than one batch of a multi-delete.
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            Storage.SaveAsync($"job-0015/{i}.png", new MemoryStream(Bytes(16, seed: i)), Png()).AsTask()));

        Assert.Equal(40, await Storage.DeletePrefixAsync("job-0015/"));
        Assert.Equal(0, await Storage.DeletePrefixAsync("job-0015/"));
    }

    [ComplianceFact]
    public async Task DeletePrefixAsync_NoObjects_ReturnsZero()
    {
        Assert.Equal(0, await Storage.DeletePrefixAsync("job-0016/"));
    }

    [ComplianceFact]
    public async Task DeletePrefixAsync_MalformedPrefix_ThrowsInvalidStorageKey()
    {
        foreach (var prefix in new[] { "job-0017", "../", "/abs/", "a//", "a/./", "a/../", "", "/", "a\\b/" })
        {
            await Assert.ThrowsAsync<InvalidStorageKeyException>(() => Storage.DeletePrefixAsync(prefix).AsTask());
        }
    }

    [ComplianceFact]
    public async Task AllOperations_MalformedKey_ThrowInvalidStorageKey()
    {
        string[] keys = ["", "../x", "..", ".", "x/..", "a/../b", "/abs", "a//b", "a/./b", "./a", "a/", "a\\b", "..\\x", "a/b\\..\\..\\c"];
        foreach (var key in keys)
        {
            var e = await Assert.ThrowsAsync<InvalidStorageKeyException>(() => Storage.SaveAsync(key, new MemoryStream([1]), Png()).AsTask());
            Assert.Equal(key, e.Key);
            Assert.Equal(MediaGenErrorCodes.InvalidStorageKey, e.ErrorCode);
            await Assert.ThrowsAsync<InvalidStorageKeyException>(() => Storage.OpenReadAsync(key).AsTask());
            await Assert.ThrowsAsync<InvalidStorageKeyException>(() => Storage.GetInfoAsync(key).AsTask());
            await Assert.ThrowsAsync<InvalidStorageKeyException>(() => Storage.DeleteAsync(key).AsTask());
            await Assert.ThrowsAsync<InvalidStorageKeyException>(() => Storage.GetReadUrlAsync(key).AsTask());
        }
    }

    [ComplianceFact]
    public async Task AllOperations_NullArguments_ThrowArgumentNull()
    {
        await Assert.ThrowsAsync<ArgumentNullException>(() => Storage.SaveAsync(null!, new MemoryStream(), Png()).AsTask());
        await Assert.ThrowsAsync<ArgumentNullException>(() => Storage.SaveAsync("job-0018/0.png", null!, Png()).AsTask());
        await Assert.ThrowsAsync<ArgumentNullException>(() => Storage.SaveAsync("job-0018/0.png", new MemoryStream(), null!).AsTask());
        await Assert.ThrowsAsync<ArgumentNullException>(() => Storage.OpenReadAsync(null!).AsTask());
        await Assert.ThrowsAsync<ArgumentNullException>(() => Storage.GetInfoAsync(null!).AsTask());
        await Assert.ThrowsAsync<ArgumentNullException>(() => Storage.DeleteAsync(null!).AsTask());
        await Assert.ThrowsAsync<ArgumentNullException>(() => Storage.DeletePrefixAsync(null!).AsTask());
        await Assert.ThrowsAsync<ArgumentNullException>(() => Storage.GetReadUrlAsync(null!).AsTask());
    }

    [ComplianceFact]
    public async Task SaveAsync_KeysWithDotsDashesUnderscoresAndNesting_RoundTrip()
    {
        string[] keys = ["job_0019/a.b-c_d.png", "job-0019/thumbs/0.small.webp", "job-0019/.hidden", "job-0019/...png"];
        foreach (var key in keys)
        {
            var content = Bytes(64, seed: key.Length);
            await Storage.SaveAsync(key, new MemoryStream(content), Png());
            Assert.Equal(content, await ReadAllAsync(key));
        }
    }

    [ComplianceFact]
    public async Task GetReadUrlAsync_SavedObject_ServesTheBytes()
    {
        var content = Bytes(50_000, seed: 13);
        await Storage.SaveAsync("job-0020/0.png", new MemoryStream(content), Png(JobMetadata));

        var url = await Storage.GetReadUrlAsync("job-0020/0.png");

        await AssertReadUrlServesAsync("job-0020/0.png", url, content);
    }

    [ComplianceFact]
    public async Task GetReadUrlAsync_ExplicitLifetime_ServesTheBytes()
    {
        var content = Bytes(1_000, seed: 14);
        await Storage.SaveAsync("job-0021/thumbs/0.webp", new MemoryStream(content), new StorageWriteOptions { ContentType = "image/webp" });

        var url = await Storage.GetReadUrlAsync("job-0021/thumbs/0.webp", TimeSpan.FromMinutes(5));

        await AssertReadUrlServesAsync("job-0021/thumbs/0.webp", url, content);
    }

    [ComplianceFact]
    public async Task SaveAsync_SourceFailsAfterSeveralParts_ThrowsItsErrorKeepsThePreviousObjectAndStoresNothingNew()
    {
        var previous = Bytes(1_000, seed: 22);
        await Storage.SaveAsync("job-0022/0.png", new MemoryStream(previous), Png());

        // 12 MiB failing after 10 MiB: past the first part or block of every storage's default size.
        var broken = new FailingStream(new GeneratedStream(12 * 1024 * 1024, seed: 1), failAfter: 10 * 1024 * 1024);
        await Assert.ThrowsAsync<IOException>(() => Storage.SaveAsync("job-0022/0.png", broken, Png()).AsTask());
        var fresh = new FailingStream(new GeneratedStream(12 * 1024 * 1024, seed: 2), failAfter: 10 * 1024 * 1024);
        await Assert.ThrowsAsync<IOException>(() => Storage.SaveAsync("job-0023/0.png", fresh, Png()).AsTask());

        Assert.Equal(previous, await ReadAllAsync("job-0022/0.png"));
        Assert.Null(await Storage.GetInfoAsync("job-0023/0.png"));
        await AssertNoUnfinishedUploadsAsync();
    }

    /// <summary>Write options for a PNG with optional metadata.</summary>
    /// <param name="metadata">The metadata.</param>
    /// <returns>The options.</returns>
    protected static StorageWriteOptions Png(IReadOnlyDictionary<string, string>? metadata = null) =>
        new() { ContentType = "image/png", Metadata = metadata };

    /// <summary>Deterministic pseudo-random bytes.</summary>
    /// <param name="length">How many.</param>
    /// <param name="seed">The seed.</param>
    /// <returns>The bytes.</returns>
    protected static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Reads a stored object to its end.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The bytes.</returns>
    protected async Task<byte[]> ReadAllAsync(string key)
    {
        await using var stream = await Storage.OpenReadAsync(key);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    private static void AssertMetadata(IReadOnlyDictionary<string, string> expected, IReadOnlyDictionary<string, string> actual) =>
        Assert.Equal(expected.OrderBy(p => p.Key, StringComparer.Ordinal), actual.OrderBy(p => p.Key, StringComparer.Ordinal));
}
