using MediaGen.Testing;

namespace MediaGen.Storage.ObjectStores.Tests;

public sealed class ContentChunksTests
{
    private const int Size = 1024;

    [Theory]
    [InlineData(0, true, 1)]
    [InlineData(1, true, 1)]
    [InlineData(Size - 1, true, 1)]
    [InlineData(Size, false, 1)]
    [InlineData(Size + 1, false, 2)]
    [InlineData((3 * Size) + 7, false, 4)]
    public async Task ReadFirstAsync_ThenEveryChunk_CountsChunksAndBytesAndYieldsTheContentInOrder(int length, bool single, int chunks)
    {
        var content = new byte[length];
        new Random(length).NextBytes(content);
        using var copy = new MemoryStream();

        using var reader = await ContentChunks.ReadFirstAsync(new TricklingStream(content, 100), Size, CancellationToken.None);
        Assert.Equal(single, reader.IsSingle);
        do
        {
            await using var part = reader.OpenCurrent();
            Assert.True(part.Length <= Size);
            await part.CopyToAsync(copy);
        }
        while (await reader.MoveNextAsync(CancellationToken.None));

        Assert.Equal(chunks, reader.Count);
        Assert.Equal(length, reader.Length);
        Assert.Equal(content, copy.ToArray());
    }

    [Fact]
    public async Task ReadFirstAsync_SourceFails_ThrowsItsError()
    {
        var broken = new FailingStream(new GeneratedStream(4 * Size, seed: 3), failAfter: Size / 2);

        await Assert.ThrowsAsync<IOException>(() => ContentChunks.ReadFirstAsync(broken, Size, CancellationToken.None).AsTask());
    }
}
