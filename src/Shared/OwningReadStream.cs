namespace MediaGen.Shared;

/// <summary>
/// A read-only, forward-only view of a response body that disposes the response that owns it (an HTTP response, an SDK
/// response) with it, so a caller that only sees a <see cref="Stream"/> still releases the connection. Compiled into each
/// package that needs it (linked source), so it adds nothing to any public API.
/// </summary>
/// <param name="inner">The body.</param>
/// <param name="owner">What owns the body; disposed after it.</param>
/// <param name="length">The body's length when known from elsewhere (a Content-Length header); else the body's own.</param>
internal sealed class OwningReadStream(Stream inner, IDisposable owner, long? length = null) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => length ?? inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => inner.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.ReadAsync(buffer, cancellationToken);

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
            owner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        owner.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
