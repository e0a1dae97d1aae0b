using System.Collections.ObjectModel;
using System.Net.Sockets;
using MediaGen.Storage.ObjectStores.Internal;
using Microsoft.Extensions.Logging;

namespace MediaGen.Storage.ObjectStores;

/// <summary>
/// The base of an <see cref="IMediaStorage"/> on an object store (an S3 bucket, an Azure Blob container). It owns
/// what every such storage does the same way: key and prefix rules, the once-only first-use check, streamed saves
/// in chunks of <see cref="ObjectStorageOptions.ChunkSize"/>, public or signed read URLs, and turning SDK failures
/// into <see cref="StorageUnavailableException"/>s that name the setting to fix. An adapter writes only its SDK calls.
/// </summary>
public abstract class ObjectMediaStorage : IMediaStorage, IDisposable
{
    private readonly ObjectStorageOptions _options;
    private readonly string _rootPrefix;
    private readonly SemaphoreSlim _readyLock = new(1, 1);
    private volatile bool _ready;

    /// <summary>Initializes the storage.</summary>
    /// <param name="options">The storage's options.</param>
    /// <param name="timeProvider">The clock for signed URLs and timeouts.</param>
    /// <param name="logger">The storage's logger.</param>
    protected ObjectMediaStorage(ObjectStorageOptions options, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options;
        _rootPrefix = MediaStorageKeys.NormalizeRootPrefix(options.Prefix);
        Profile = options.Profile;
        TimeProvider = timeProvider;
        Logger = logger;
    }

    /// <summary>How the storage names itself and its settings.</summary>
    protected ObjectStorageProfile Profile { get; }

    /// <summary>The clock.</summary>
    protected TimeProvider TimeProvider { get; }

    /// <summary>The storage's logger.</summary>
    protected ILogger Logger { get; }

    /// <summary>The bucket's or container's name.</summary>
    protected abstract string ContainerName { get; }

    /// <summary>Where the service is, for messages (a service URL, an endpoint).</summary>
    protected abstract string Endpoint { get; }

    /// <inheritdoc />
    public async ValueTask<StoredObject> SaveAsync(string key, Stream content, StorageWriteOptions options, CancellationToken cancellationToken = default)
    {
        MediaStorageKeys.Validate(key);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(options);
        cancellationToken.ThrowIfCancellationRequested();
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);

        var name = ObjectName(key);
        using var chunks = await ContentChunks.ReadFirstAsync(content, _options.ChunkSize, cancellationToken).ConfigureAwait(false);
        try
        {
            await WriteObjectAsync(name, chunks, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsFailure(e, cancellationToken))
        {
            throw Unavailable(e, $"saving '{key}'");
        }

        Log.Stored(Logger, name, Profile.ServiceName, Profile.ContainerKind, ContainerName, chunks.Length, chunks.Count);
        return new StoredObject
        {
            Key = key,
            Size = chunks.Length,
            ContentType = options.ContentType,
            Metadata = options.Metadata is null ? ReadOnlyDictionary<string, string>.Empty : new Dictionary<string, string>(options.Metadata, StringComparer.Ordinal),
        };
    }

    /// <inheritdoc />
    public async ValueTask<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        MediaStorageKeys.Validate(key);
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await OpenObjectAsync(ObjectName(key), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsObjectNotFound(e))
        {
            throw new StorageObjectNotFoundException(key, e);
        }
        catch (Exception e) when (IsFailure(e, cancellationToken))
        {
            throw Unavailable(e, $"reading '{key}'");
        }
    }

    /// <inheritdoc />
    public async ValueTask<StoredObject?> GetInfoAsync(string key, CancellationToken cancellationToken = default)
    {
        MediaStorageKeys.Validate(key);
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await GetObjectInfoAsync(key, ObjectName(key), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsFailure(e, cancellationToken))
        {
            throw Unavailable(e, $"reading the properties of '{key}'");
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        MediaStorageKeys.Validate(key);
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await DeleteObjectAsync(ObjectName(key), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsFailure(e, cancellationToken))
        {
            throw Unavailable(e, $"deleting '{key}'");
        }
    }

    /// <inheritdoc />
    public async ValueTask<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        MediaStorageKeys.ValidatePrefix(prefix);
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        var fullPrefix = _rootPrefix + prefix;
        int deleted;
        try
        {
            deleted = await DeleteObjectsAsync(prefix, fullPrefix, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsFailure(e, cancellationToken))
        {
            throw Unavailable(e, $"deleting the {Profile.ObjectKind} under '{prefix}'");
        }

        Log.DeletedPrefix(Logger, deleted, Profile.ObjectKind, fullPrefix, Profile.ServiceName, Profile.ContainerKind, ContainerName);
        return deleted;
    }

    /// <inheritdoc />
    public async ValueTask<Uri> GetReadUrlAsync(string key, TimeSpan? lifetime = null, CancellationToken cancellationToken = default)
    {
        MediaStorageKeys.Validate(key);
        var name = ObjectName(key);
        if (_options.PublicBaseUrl is { } publicBase)
        {
            return new Uri(publicBase.AbsoluteUri.TrimEnd('/') + "/" + string.Join('/', name.Split('/').Select(Uri.EscapeDataString)));
        }

        var validFor = lifetime ?? _options.ReadUrlLifetime;
        if (validFor <= TimeSpan.Zero || validFor > TimeSpan.FromDays(7))
        {
            throw new ArgumentOutOfRangeException(nameof(lifetime), lifetime, $"A {Profile.SignedUrlName} lives between 1 second and 7 days.");
        }

        return await SignReadUrlAsync(key, name, validFor, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the storage holds; the base releases its first-use lock.</summary>
    /// <param name="disposing">Whether called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _readyLock.Dispose();
        }
    }

    /// <summary>Checks once, on first use, that the bucket or container is there (creating it when configured to).</summary>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>A task that completes when the storage may be used.</returns>
    protected abstract Task CheckReadyAsync(CancellationToken cancellationToken);

    /// <summary>Writes an object from <paramref name="chunks"/>, positioned on the first: in one request when <see cref="ContentChunks.IsSingle"/>, else part by part so readers never see half of it.</summary>
    /// <param name="name">The object's full name (with the prefix).</param>
    /// <param name="chunks">The content.</param>
    /// <param name="options">The content type and metadata.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>A task that completes when the object is stored.</returns>
    protected abstract Task WriteObjectAsync(string name, ContentChunks chunks, StorageWriteOptions options, CancellationToken cancellationToken);

    /// <summary>Opens an object for reading.</summary>
    /// <param name="name">The object's full name.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The content; a missing object throws what <see cref="IsObjectNotFound"/> recognises.</returns>
    protected abstract Task<Stream> OpenObjectAsync(string name, CancellationToken cancellationToken);

    /// <summary>Whether an exception from <see cref="OpenObjectAsync"/> says the object does not exist (not the bucket or container).</summary>
    /// <param name="exception">The exception.</param>
    /// <returns>Whether the object is missing.</returns>
    protected abstract bool IsObjectNotFound(Exception exception);

    /// <summary>Reads an object's size, content type and metadata.</summary>
    /// <param name="key">The MediaGen key.</param>
    /// <param name="name">The object's full name.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The object, or null when it does not exist.</returns>
    protected abstract Task<StoredObject?> GetObjectInfoAsync(string key, string name, CancellationToken cancellationToken);

    /// <summary>Deletes an object.</summary>
    /// <param name="name">The object's full name.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>Whether it existed.</returns>
    protected abstract Task<bool> DeleteObjectAsync(string name, CancellationToken cancellationToken);

    /// <summary>Deletes every object whose name starts with <paramref name="fullPrefix"/>.</summary>
    /// <param name="prefix">The MediaGen prefix, for messages.</param>
    /// <param name="fullPrefix">The prefix with the storage's own prefix.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>How many were deleted.</returns>
    protected abstract Task<int> DeleteObjectsAsync(string prefix, string fullPrefix, CancellationToken cancellationToken);

    /// <summary>Signs a read URL (presigned GET, SAS) valid for <paramref name="validFor"/>.</summary>
    /// <param name="key">The MediaGen key, for messages.</param>
    /// <param name="name">The object's full name.</param>
    /// <param name="validFor">How long the URL is valid, between 1 second and 7 days.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The URL.</returns>
    protected abstract ValueTask<Uri> SignReadUrlAsync(string key, string name, TimeSpan validFor, CancellationToken cancellationToken);

    /// <summary>Whether an exception came from the SDK or the service (rather than from the caller's content, say).</summary>
    /// <param name="exception">The exception.</param>
    /// <returns>Whether it is the storage's failure.</returns>
    protected abstract bool IsServiceException(Exception exception);

    /// <summary>
    /// Says what a service failure means and what to fix, for the failures only this service has (its error codes);
    /// null leaves it to the shared wording (unreachable endpoint, timeout, anything else).
    /// </summary>
    /// <param name="failure">The failure (the last inner exception of an <see cref="AggregateException"/>).</param>
    /// <param name="operation">What the storage was doing, for example <c>saving 'job/0.png'</c>.</param>
    /// <returns>The message, or null.</returns>
    protected abstract string? DescribeServiceFailure(Exception failure, string operation);

    /// <summary>Whether <paramref name="exception"/> is the storage's failure rather than the caller's cancellation or content.</summary>
    /// <param name="exception">The exception.</param>
    /// <param name="cancellationToken">The caller's token.</param>
    /// <returns>Whether to report it as <see cref="StorageUnavailableException"/>.</returns>
    protected bool IsFailure(Exception exception, CancellationToken cancellationToken) =>
        IsServiceException(exception) || exception is AggregateException or HttpRequestException or SocketException
        || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    /// <summary>Turns a failure into a <see cref="StorageUnavailableException"/> that says what to fix.</summary>
    /// <param name="exception">The failure.</param>
    /// <param name="operation">What the storage was doing.</param>
    /// <returns>The exception to throw.</returns>
    protected StorageUnavailableException Unavailable(Exception exception, string operation)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var failed = exception is AggregateException aggregate ? aggregate.InnerExceptions.LastOrDefault() ?? exception : exception;
        var message = DescribeServiceFailure(failed, operation) ?? failed switch
        {
            OperationCanceledException =>
                $"The {Profile.ServiceName} endpoint {Endpoint} did not answer in time while {operation}. Check {Profile.EndpointSettings} and the network.",
            _ when FindCause(failed) is { } cause =>
                $"Cannot reach the {Profile.ServiceName} endpoint {Endpoint} ({cause.Message}). Check {Profile.EndpointSettings}, and that the service is running.",
            _ => $"{Profile.ServiceName} failed while {operation} in the {Profile.ContainerKind} '{ContainerName}' at {Endpoint}: {FirstLine(failed.Message)}",
        };
        return new StorageUnavailableException(message, exception);
    }

    /// <summary>The network error under <paramref name="exception"/> (a socket or HTTP failure), if any.</summary>
    /// <param name="exception">The exception.</param>
    /// <returns>The innermost-first socket error, else the HTTP error, or null.</returns>
    protected static Exception? FindCause(Exception? exception)
    {
        Exception? http = null;
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is SocketException)
            {
                return e;
            }

            http ??= e as HttpRequestException;
        }

        return http;
    }

    /// <summary>The first line of a message, trimmed.</summary>
    /// <param name="message">The message.</param>
    /// <returns>The line.</returns>
    protected static string FirstLine(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var end = message.IndexOf('\n', StringComparison.Ordinal);
        return (end < 0 ? message : message[..end]).Trim();
    }

    private string ObjectName(string key) => _rootPrefix + key;

    private async ValueTask EnsureReadyAsync(CancellationToken cancellationToken)
    {
        if (_ready)
        {
            return;
        }

        await _readyLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_ready)
            {
                return;
            }

            await CheckReadyAsync(cancellationToken).ConfigureAwait(false);
            _ready = true;
        }
        catch (Exception e) when (IsFailure(e, cancellationToken))
        {
            var unavailable = Unavailable(e, $"checking the {Profile.ContainerKind}");
            Log.Unavailable(Logger, Profile.ServiceName, unavailable.Message, e);
            throw unavailable;
        }
        finally
        {
            _readyLock.Release();
        }
    }
}
