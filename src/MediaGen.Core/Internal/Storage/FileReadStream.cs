using Microsoft.Win32.SafeHandles;

namespace MediaGen.Internal;

/// <summary>
/// A read-only, seekable stream over a file handle, which it owns, whose reads, asynchronous ones included, are made at
/// once on the calling thread, each straight into the caller's buffer. Its length is the file's when it was opened. For
/// serving a stored output: an HTTP response copies it in large chunks, so a buffer would only add a copy, and an
/// asynchronous read on Linux is the same blocking read made on another thread-pool thread (see
/// <see cref="FileWriteStream"/>).
/// </summary>
internal sealed class FileReadStream(SafeFileHandle handle, long length) : Stream
{
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => _position;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _position = value;
        }
    }

    public override int Read(Span<byte> buffer)
    {
        if (_position >= length)
        {
            return 0;
        }

        var read = RandomAccess.Read(handle, buffer[..(int)Math.Min(buffer.Length, length - _position)], _position);
        _position += read;
        return read;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled<int>(cancellationToken) : ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            handle.Dispose();
        }

        base.Dispose(disposing);
    }
}
