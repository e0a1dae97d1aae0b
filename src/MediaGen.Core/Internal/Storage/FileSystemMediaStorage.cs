using System.Buffers;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Win32.SafeHandles;

namespace MediaGen.Internal;

/// <summary>
/// <see cref="IMediaStorage"/> on a local directory. Writes go to a temporary file that is moved over the key's path,
/// so readers never see half an object and a retry overwrites. Content type and metadata live in a sidecar file.
/// Keys that would escape the root are refused. Read URLs are signed and expire (<see cref="MediaUrlSignature"/>).
/// </summary>
internal sealed class FileSystemMediaStorage : IMediaStorage
{
    private const string SidecarSuffix = ".meta";
    private readonly string _root;
    private readonly string _rootPrefix;
    private readonly string _publicBaseUrl;
    private readonly TimeSpan _readUrlLifetime;
    private readonly TimeProvider _time;

    // Temporary files are named by this instance's random tag and a counter: unique among processes sharing the root,
    // without a GUID (and its read of the system's random source) per file.
    private readonly string _tempTag = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
    private long _tempCount;

    public FileSystemMediaStorage(IOptions<FileSystemStorageOptions> options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        _root = Path.GetFullPath(options.Value.RootPath);
        _rootPrefix = _root + Path.DirectorySeparatorChar;
        _publicBaseUrl = options.Value.PublicBaseUrl.EndsWith('/') ? options.Value.PublicBaseUrl : options.Value.PublicBaseUrl + "/";
        _readUrlLifetime = options.Value.ReadUrlLifetime;
        _time = timeProvider;
        Signature = new MediaUrlSignature(options.Value.UrlSigningKey is { } key
            ? System.Text.Encoding.UTF8.GetBytes(key)
            : System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
    }

    public string RootPath => _root;

    /// <summary>The URL the root is served from, ending in <c>/</c>.</summary>
    public string PublicBaseUrl => _publicBaseUrl;

    /// <summary>Signs and checks this storage's read URLs.</summary>
    public MediaUrlSignature Signature { get; }

    /// <summary>
    /// Whether writes use <see cref="LinuxFiles"/> (where it is supported) before .NET's file API; tests turn it off to
    /// run the portable path on Linux too.
    /// </summary>
    internal bool UseLinuxFiles { get; set; } = LinuxFiles.IsSupported;

    public async ValueTask<StoredObject> SaveAsync(string key, Stream content, StorageWriteOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(options);
        var path = ResolvePath(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = TempPath(path);
        long size;
        try
        {
            // Unbuffered, written at once (see FileHandleStream): the copy already writes in large chunks (content in
            // memory in one), so a FileStream's buffer would only add an 80 KB array to every output saved.
            using (var handle = CreateNew(temp))
            {
                var file = FileHandleStream.ForWrite(handle);
                await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
                size = file.Length;
            }

            WriteSidecar(path, options);
            Replace(temp, path);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        return new StoredObject
        {
            Key = key,
            Size = size,
            ContentType = options.ContentType,
            // The worker's metadata cannot change, so it is kept as it is; a caller's own dictionary is copied.
            Metadata = options.Metadata switch
            {
                null => ReadOnlyDictionary<string, string>.Empty,
                OutputMetadata fixedMetadata => fixedMetadata,
                var metadata => new Dictionary<string, string>(metadata),
            },
        };
    }

    public ValueTask<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = ResolvePath(key);
        try
        {
            // A small buffer, used only by readers that ask for less than it at a time (an image decoder): a reader that asks for
            // more (an HTTP response's copy) reads straight from the file, and no reader pays for an 80 KB array.
            return ValueTask.FromResult<Stream>(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 4096, FileOptions.Asynchronous));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException
            || (e is UnauthorizedAccessException && Directory.Exists(path)))
        {
            // A key that is only a prefix of stored keys names a directory here, not an object.
            throw new StorageObjectNotFoundException(key, e);
        }
    }

    public ValueTask<StoredObject?> GetInfoAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = ResolvePath(key);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return ValueTask.FromResult<StoredObject?>(null);
        }

        var (contentType, metadata) = ReadSidecar(path);
        return ValueTask.FromResult<StoredObject?>(new StoredObject { Key = key, Size = info.Length, ContentType = contentType, Metadata = metadata });
    }

    /// <summary>
    /// Opens the object at <paramref name="key"/> to serve it: its content, read at once on the calling thread (see
    /// <see cref="FileHandleStream"/>), with its length, content type and last write, all of the one file opened, so an
    /// object replaced meanwhile is served whole, old or new. Null when there is none: no file, or a key that names a
    /// folder. A request opens the file and its sidecar, once each, with no lock (see <see cref="LinuxFiles"/>).
    /// </summary>
    /// <exception cref="InvalidStorageKeyException">The key is not acceptable.</exception>
    internal ServedObject? OpenToServe(string key)
    {
        var path = ResolvePath(key);
        var handle = OpenRead(path);
        if (handle is null)
        {
            return null;
        }

        try
        {
            if ((File.GetAttributes(handle) & FileAttributes.Directory) != 0)
            {
                handle.Dispose();
                return null;
            }

            var lastWrite = File.GetLastWriteTimeUtc(handle);
            var content = FileHandleStream.ForRead(handle, RandomAccess.GetLength(handle));
            return new ServedObject(content, ReadSidecar(path).ContentType, new DateTimeOffset(lastWrite, TimeSpan.Zero));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public ValueTask<bool> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = ResolvePath(key);
        var existed = File.Exists(path);
        TryDelete(path);
        TryDelete(path + SidecarSuffix);
        return ValueTask.FromResult(existed);
    }

    public ValueTask<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        MediaStorageKeys.ValidatePrefix(prefix);
        var directory = ResolvePath(prefix.TrimEnd('/'));
        var count = 0;

        // Two deletes of one job can run at once (two API requests): whichever removes a file or folder first wins, and
        // the other, finding it gone, goes on with what is left instead of failing.
        while (Directory.Exists(directory))
        {
            try
            {
                count = Math.Max(count, Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
                    .Count(f => !f.EndsWith(SidecarSuffix, StringComparison.Ordinal) && !f.EndsWith(".tmp", StringComparison.Ordinal)));
                Directory.Delete(directory, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }

        return ValueTask.FromResult(count);
    }

    public ValueTask<Uri> GetReadUrlAsync(string key, TimeSpan? lifetime = null, CancellationToken cancellationToken = default)
    {
        MediaStorageKeys.Validate(key);
        var expires = _time.GetUtcNow() + (lifetime ?? _readUrlLifetime);
        return ValueTask.FromResult(new Uri(Signature.SignedUrl(_publicBaseUrl, key, expires), UriKind.RelativeOrAbsolute));
    }

    private string ResolvePath(string key)
    {
        MediaStorageKeys.Validate(key);

        // A valid key is relative, with '/' separators and no empty, '.' or '..' segment: on Unix it already reads as a
        // path below the root. Windows normalizes more (separators, trailing dots and spaces), so it asks the system.
        var path = OperatingSystem.IsWindows() ? Path.GetFullPath(Path.Combine(_root, key)) : string.Concat(_rootPrefix, key);
        if (!path.StartsWith(_rootPrefix, StringComparison.Ordinal))
        {
            throw new InvalidStorageKeyException(key, "It resolves outside the storage root.");
        }

        if (path.EndsWith(SidecarSuffix, StringComparison.Ordinal) || path.EndsWith(".tmp", StringComparison.Ordinal))
        {
            throw new InvalidStorageKeyException(key, $"Keys may not end with '{SidecarSuffix}' or '.tmp'.");
        }

        return path;
    }

    /// <summary>Creates a new file to write, which must not exist.</summary>
    private SafeFileHandle CreateNew(string path) =>
        UseLinuxFiles && LinuxFiles.TryCreateNew(path, out var handle) ? handle : OpenNew(path);

    /// <summary>Creates a new file to write through .NET's file API: where <see cref="LinuxFiles"/> is off, or a call of it failed.</summary>
    private static SafeFileHandle OpenNew(string path) => File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);

    /// <summary>Opens a file to read; null when there is no file or folder at <paramref name="path"/>.</summary>
    private SafeFileHandle? OpenRead(string path)
    {
        if (UseLinuxFiles && LinuxFiles.TryOpenRead(path, out var handle))
        {
            return handle;
        }

        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException || (e is UnauthorizedAccessException && Directory.Exists(path)))
        {
            return null;
        }
    }

    /// <summary>Moves a finished temporary file over its destination in one step.</summary>
    private void Replace(string temp, string destination)
    {
        if (!(UseLinuxFiles && LinuxFiles.TryReplace(temp, destination)))
        {
            File.Move(temp, destination, overwrite: true);
        }
    }

    private string TempPath(string path) =>
        string.Create(CultureInfo.InvariantCulture, $"{path}.{_tempTag}{Interlocked.Increment(ref _tempCount):x}.tmp");

    private void WriteSidecar(string path, StorageWriteOptions options)
    {
        // One line each: the content type, then escaped key=value pairs. A few dozen bytes, encoded straight into a pooled
        // buffer and written in one write, at once (see FileHandleStream on asynchronous file I/O), to a new file opened as
        // the output's is: a file opened to be truncated or shared would cost a file-system query, a truncation and a
        // shared lock more on every output.

        // The buffer's bound: an escaped key or value is ASCII, at most three characters for each of its UTF-8 bytes.
        var bound = Encoding.UTF8.GetMaxByteCount(options.ContentType.Length) + 1;
        if (options.Metadata is not null)
        {
            foreach (var (k, v) in options.Metadata)
            {
                bound += (3 * (Encoding.UTF8.GetMaxByteCount(k.Length) + Encoding.UTF8.GetMaxByteCount(v.Length))) + 2;
            }
        }

        var buffer = ArrayPool<byte>.Shared.Rent(bound);
        var sidecar = path + SidecarSuffix;
        var temp = TempPath(sidecar);
        try
        {
            var length = Encoding.UTF8.GetBytes(options.ContentType, buffer);
            buffer[length++] = (byte)'\n';
            if (options.Metadata is not null)
            {
                foreach (var (k, v) in options.Metadata)
                {
                    // Neither escape allocates for the usual ASCII key or value: a string with nothing to escape comes back as it is.
                    length += Encoding.UTF8.GetBytes(Uri.EscapeDataString(k), buffer.AsSpan(length));
                    buffer[length++] = (byte)'=';
                    length += Encoding.UTF8.GetBytes(Uri.EscapeDataString(v), buffer.AsSpan(length));
                    buffer[length++] = (byte)'\n';
                }
            }

            if (!(UseLinuxFiles && LinuxFiles.TryWriteNew(temp, buffer.AsSpan(0, length))))
            {
                using var handle = OpenNew(temp);
                RandomAccess.Write(handle, buffer.AsSpan(0, length), 0);
            }

            Replace(temp, sidecar);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The content type and metadata in the sidecar of the file at <paramref name="path"/>; with no sidecar, the generic
    /// type and none. A sidecar is a few dozen bytes, replaced whole (never written in place), read at once.
    /// </summary>
    private (string ContentType, Dictionary<string, string> Metadata) ReadSidecar(string path)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        using var handle = OpenRead(path + SidecarSuffix);
        if (handle is null)
        {
            return ("application/octet-stream", metadata);
        }

        var text = ReadText(handle);
        var end = text.IndexOf('\n', StringComparison.Ordinal);
        var contentType = (end < 0 ? text : text[..end]).TrimEnd('\r');
        foreach (var entry in (end < 0 ? "" : text[(end + 1)..]).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var line = entry.TrimEnd('\r');
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                metadata[Uri.UnescapeDataString(line[..eq])] = Uri.UnescapeDataString(line[(eq + 1)..]);
            }
        }

        return (contentType.Length > 0 ? contentType : "application/octet-stream", metadata);
    }

    /// <summary>A small file's whole content as UTF-8 text, read into a stack buffer (a pooled one once it outgrows that).</summary>
    private static string ReadText(SafeFileHandle handle)
    {
        Span<byte> first = stackalloc byte[512];
        byte[]? rented = null;
        var buffer = first;
        var length = 0;
        try
        {
            int read;
            while ((read = RandomAccess.Read(handle, buffer[length..], length)) > 0)
            {
                length += read;
                if (length == buffer.Length)
                {
                    var grown = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer[..length].CopyTo(grown);
                    if (rented is not null)
                    {
                        ArrayPool<byte>.Shared.Return(rented);
                    }

                    rented = grown;
                    buffer = grown;
                }
            }

            return Encoding.UTF8.GetString(buffer[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a leftover temporary file is harmless and never read.
        }
    }
}

/// <summary>A stored object opened to be served (see <see cref="FileSystemMediaStorage.OpenToServe"/>); the caller disposes <see cref="Content"/>.</summary>
internal sealed record ServedObject(FileHandleStream Content, string ContentType, DateTimeOffset LastModified);
