using System.Buffers;

namespace MediaGen.Storage.ObjectStores;

/// <summary>
/// Reads a save's content in chunks of one size into one pooled buffer, so a save holds one part or block in memory
/// whatever the content's length. The first chunk is read when the save starts; <see cref="IsSingle"/> says whether
/// it is all there is.
/// </summary>
public sealed class ContentChunks : IDisposable
{
    private readonly Stream _content;
    private byte[]? _buffer;
    private int _filled;

    private ContentChunks(Stream content, int size)
    {
        _content = content;
        Size = size;
        _buffer = ArrayPool<byte>.Shared.Rent(size);
    }

    /// <summary>The chunk size.</summary>
    public int Size { get; }

    /// <summary>The chunk read last.</summary>
    public ReadOnlyMemory<byte> Current => Buffer.AsMemory(0, _filled);

    /// <summary>The chunk read last, as a read-only stream over the buffer (no copy); valid until the next read.</summary>
    /// <returns>The stream.</returns>
    public Stream OpenCurrent() => new MemoryStream(Buffer, 0, _filled, writable: false);

    /// <summary>Whether the whole content fits in the first chunk.</summary>
    public bool IsSingle { get; private set; }

    /// <summary>How many chunks have been read (empty content counts as one).</summary>
    public int Count { get; private set; }

    /// <summary>How many bytes have been read.</summary>
    public long Length { get; private set; }

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(ContentChunks));

    /// <summary>Reads the first chunk of <paramref name="content"/>.</summary>
    /// <param name="content">The content.</param>
    /// <param name="size">The chunk size.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The chunks, positioned on the first; dispose them.</returns>
    public static async ValueTask<ContentChunks> ReadFirstAsync(Stream content, int size, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var chunks = new ContentChunks(content, size);
        try
        {
            await chunks.FillAsync(cancellationToken).ConfigureAwait(false);
            chunks.IsSingle = chunks._filled < size;
            return chunks;
        }
        catch
        {
            chunks.Dispose();
            throw;
        }
    }

    /// <summary>Reads the next chunk; false when the last one has been read.</summary>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>Whether <see cref="Current"/> holds a new chunk.</returns>
    public async ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        if (_filled < Size)
        {
            return false;
        }

        await FillAsync(cancellationToken).ConfigureAwait(false);
        return _filled > 0;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        _filled = await _content.ReadAtLeastAsync(Buffer.AsMemory(0, Size), Size, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (_filled > 0 || Count == 0)
        {
            Count++;
        }

        Length += _filled;
    }
}
