namespace MediaGen.Testing;

/// <summary>
/// A read-only, non-seekable stream of <c>length</c> deterministic pseudo-random bytes, generated as it is read, so a
/// storage sees content of unknown length exactly as a generator would hand it over.
/// </summary>
public sealed class GeneratedStream : ReadOnlyForwardStream
{
    private readonly long _length;
    private readonly Random _random;
    private long _position;

    /// <summary>Creates the stream.</summary>
    /// <param name="length">How many bytes it yields.</param>
    /// <param name="seed">The seed; the same seed and length yield the same bytes.</param>
    public GeneratedStream(long length, int seed)
    {
        _length = length;
        _random = new Random(seed);
    }

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, _length - _position);
        _random.NextBytes(buffer[..n]);
        _position += n;
        return n;
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    /// <inheritdoc />
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

}

/// <summary>A read-only, non-seekable stream over bytes that returns at most <c>chunk</c> bytes per read.</summary>
public sealed class TricklingStream : ReadOnlyForwardStream
{
    private readonly byte[] _content;
    private readonly int _chunk;
    private int _position;

    /// <summary>Creates the stream.</summary>
    /// <param name="content">The bytes it yields.</param>
    /// <param name="chunk">The most bytes one read returns.</param>
    public TricklingStream(byte[] content, int chunk)
    {
        _content = content;
        _chunk = chunk;
    }

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        var n = Math.Min(Math.Min(buffer.Length, _chunk), _content.Length - _position);
        _content.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    /// <inheritdoc />
    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        await ReadAsync(buffer.AsMemory(offset, count), cancellationToken);

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return Read(buffer.Span);
    }

}

/// <summary>A read-only, non-seekable stream that fails with an <see cref="IOException"/> after yielding <c>failAfter</c> bytes of another stream.</summary>
/// <param name="inner">The stream it reads from.</param>
/// <param name="failAfter">How many bytes it yields before failing.</param>
public sealed class FailingStream(Stream inner, long failAfter) : ReadOnlyForwardStream
{
    private long _read;

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        if (_read >= failAfter)
        {
            throw new IOException("The generator's stream broke.");
        }

        var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, failAfter - _read)]);
        _read += n;
        return n;
    }
}

/// <summary>
/// The shape the test streams share: readable once from start to end, not seekable, not writable, of unknown length, as
/// a generator hands its output over. A subclass writes only <see cref="Read(Span{byte})"/>.
/// </summary>
public abstract class ReadOnlyForwardStream : Stream
{
    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    public abstract override int Read(Span<byte> buffer);

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
