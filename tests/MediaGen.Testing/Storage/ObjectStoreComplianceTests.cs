namespace MediaGen.Testing;

/// <summary>
/// What every object-store storage (S3, Azure Blob, any bucket or container service) must do beyond the
/// <see cref="IMediaStorage"/> contract: public read URLs under a prefix, first-use errors that name what to fix, and
/// clients the caller owns left working. An adapter's test project inherits this class instead of
/// <see cref="MediaStorageComplianceTests"/> and gets both.
/// </summary>
public abstract class ObjectStoreComplianceTests : MediaStorageComplianceTests
{
    private readonly List<IAsyncDisposable> _extra = [];

    /// <summary>A storage of this kind on a client the test owns.</summary>
    /// <param name="Storage">The storage.</param>
    /// <param name="DisposeOwnerAsync">Disposes what MediaGen created around the storage (its service provider), not the client.</param>
    /// <param name="ObjectSizeAsync">Reads an object's size through the caller's client, by its full name.</param>
    public sealed record CallerOwnedStorage(IMediaStorage Storage, Func<ValueTask> DisposeOwnerAsync, Func<string, Task<long>> ObjectSizeAsync);

    /// <summary>Creates a storage with <paramref name="publicBaseUrl"/> and <paramref name="prefix"/>; it need not reach a server.</summary>
    /// <param name="publicBaseUrl">The public base URL.</param>
    /// <param name="prefix">The storage-wide prefix.</param>
    /// <returns>The storage and what disposes it.</returns>
    protected abstract (IMediaStorage Storage, IAsyncDisposable Owner) CreatePublicStorage(Uri publicBaseUrl, string prefix);

    /// <summary>Creates a storage whose endpoint nothing listens on, with the SDK's retries off.</summary>
    /// <returns>The storage, what disposes it, and the endpoint as messages should name it (for example <c>127.0.0.1:PORT</c>).</returns>
    protected abstract (IMediaStorage Storage, IAsyncDisposable Owner, string Endpoint) CreateUnreachableStorage();

    /// <summary>What the message for an unreachable endpoint must say besides the endpoint.</summary>
    protected abstract IReadOnlyList<string> UnreachableMessageParts { get; }

    /// <summary>Creates a storage on a bucket or container that does not exist, configured not to create it.</summary>
    /// <returns>The storage, what disposes it, and what the message must say (its name, the setting that creates it).</returns>
    protected abstract (IMediaStorage Storage, IAsyncDisposable Owner, IReadOnlyList<string> MessageParts) CreateStorageWithoutContainer();

    /// <summary>Creates a storage on a client the test owns, for a bucket or container that exists or is created on first use.</summary>
    /// <returns>The storage and how to reach it through the caller's client.</returns>
    protected abstract ValueTask<CallerOwnedStorage> CreateStorageOnCallerClientAsync();

    [ComplianceFact]
    public async Task GetReadUrlAsync_PublicBaseUrl_ReturnsThePublicUrlOfThePrefixedKey()
    {
        var storage = Keep(CreatePublicStorage(new Uri("https://cdn.example.com/assets"), "media"));

        var url = await storage.GetReadUrlAsync("job 4/0.png");

        Assert.Equal("https://cdn.example.com/assets/media/job%204/0.png", url.AbsoluteUri);
    }

    [ComplianceFact]
    public async Task FirstUse_UnreachableEndpoint_SaysWhichEndpointToCheck()
    {
        var (storage, owner, endpoint) = CreateUnreachableStorage();
        _extra.Add(owner);

        var e = await Assert.ThrowsAsync<StorageUnavailableException>(() => storage.OpenReadAsync("job-10/0.png").AsTask());

        Assert.Contains(endpoint, e.Message, StringComparison.Ordinal);
        foreach (var part in UnreachableMessageParts)
        {
            Assert.Contains(part, e.Message, StringComparison.Ordinal);
        }
    }

    [ComplianceFact]
    public async Task FirstUse_MissingContainer_SaysToCreateItOrLetMediaGenCreateIt()
    {
        var (storage, owner, parts) = CreateStorageWithoutContainer();
        _extra.Add(owner);

        var e = await Assert.ThrowsAsync<StorageUnavailableException>(() => storage.SaveAsync("job-7/0.png", new MemoryStream([1]), Png()).AsTask());

        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
        foreach (var part in parts)
        {
            Assert.Contains(part, e.Message, StringComparison.Ordinal);
        }

        Assert.Equal(MediaGenErrorCodes.StorageUnavailable, e.ErrorCode);
        await Assert.ThrowsAsync<StorageUnavailableException>(() => storage.GetInfoAsync("job-7/0.png").AsTask());
    }

    [ComplianceFact]
    public async Task CallerOwnedClient_ProviderDisposed_ClientStillWorks()
    {
        var owned = await CreateStorageOnCallerClientAsync();
        await owned.Storage.SaveAsync("job-11/0.png", new MemoryStream([4, 2]), Png());

        await owned.DisposeOwnerAsync();

        Assert.Equal(2, await owned.ObjectSizeAsync("job-11/0.png"));
    }

    /// <inheritdoc />
    protected override async ValueTask CleanUpAsync(IMediaStorage storage)
    {
        foreach (var owner in _extra)
        {
            await owner.DisposeAsync();
        }

        await base.CleanUpAsync(storage);
    }

    private IMediaStorage Keep((IMediaStorage Storage, IAsyncDisposable Owner) created)
    {
        _extra.Add(created.Owner);
        return created.Storage;
    }
}
