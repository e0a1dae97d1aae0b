using Microsoft.Win32.SafeHandles;

namespace MediaGen.Internal;

/// <summary>
/// An unbuffered stream over a file handle whose reads or writes, asynchronous ones included, are made at once on the
/// calling thread, each straight from or into the caller's buffer. Asynchronous file I/O on Linux is the same blocking
/// call made on another thread-pool thread, so this saves two hand-offs per call; and the storage's callers move data
/// in large chunks (an output's copy into its file, an HTTP response's copy out of it), which a buffer would only copy
/// once more. The source of a write is still read asynchronously: a download awaits its network.
/// </summary>
/// <remarks>
/// <see cref="ForWrite"/> writes from the start of a new file, which its caller owns and closes. <see cref="ForRead"/>
/// reads, and seeks, within the file's length when it was opened, and closes the file when it is disposed.
/// </remarks>
internal sealed class FileHandleStream : Stream
{
    private readonly SafeFileHandle _handle;

    // The length a read stream was opened with; -1 for a write stream, whose length is what it wrote.
    private readonly long _readLength;
    private long _position;

    private FileHandleStream(SafeFileHandle handle, long readLength)
    {
        _handle = handle;
        _readLength = readLength;
    }

    /// <summary>A stream that writes <paramref name="handle"/>'s file from its start; the caller keeps and closes the handle.</summary>
    public static FileHandleStream ForWrite(SafeFileHandle handle) => new(handle, -1);

    /// <summary>A stream that reads the first <paramref name="length"/> bytes of <paramref name="handle"/>'s file, and closes it when disposed.</summary>
    public static FileHandleStream ForRead(SafeFileHandle handle, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return new(handle, length);
    }

    public override bool CanRead => _readLength >= 0;

    public override bool CanSeek => CanRead;

    public override bool CanWrite => !CanRead;

    public override long Length => CanRead ? _readLength : _position;

    public override long Position
    {
        get => _position;
        set
        {
            if (!CanSeek)
            {
                throw new NotSupportedException();
            }

            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _position = value;
        }
    }

    public override int Read(Span<byte> buffer)
    {
        if (!CanRead)
        {
            throw new NotSupportedException();
        }

        if (_position >= _readLength)
        {
            return 0;
        }

        var read = RandomAccess.Read(_handle, buffer[..(int)Math.Min(buffer.Length, _readLength - _position)], _position);
        _position += read;
        return read;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled<int>(cancellationToken) : ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (!CanWrite)
        {
            throw new NotSupportedException();
        }

        RandomAccess.Write(_handle, buffer, _position);
        _position += buffer.Length;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => Length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && CanRead)
        {
            _handle.Dispose();
        }

        base.Dispose(disposing);
    }
}
