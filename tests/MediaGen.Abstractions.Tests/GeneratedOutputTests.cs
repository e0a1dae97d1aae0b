namespace MediaGen.Abstractions.Tests;

public sealed class GeneratedOutputTests
{
    [Fact]
    public async Task FromBytes_OpenedTwice_ReadsAllBytesEachTime()
    {
        var bytes = Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray();
        var output = GeneratedOutput.FromBytes("image/png", bytes);
        Assert.Equal(bytes.Length, output.Length);
        for (var i = 0; i < 2; i++)
        {
            await using var stream = await output.OpenReadAsync();
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            Assert.Equal(bytes, copy.ToArray());
        }
    }

    [Fact]
    public void Exceptions_CarryStableCodes()
    {
        Assert.Equal(MediaGenErrorCodes.ProviderRateLimited, GenerationException.RateLimited("slow down", TimeSpan.FromSeconds(3)).ErrorCode);
        Assert.True(GenerationException.RateLimited("x", null).IsRateLimited);
        Assert.False(GenerationException.Permanent("bad").IsTransient);
        Assert.Equal(MediaGenErrorCodes.ContentFiltered, GenerationException.Permanent("nsfw", MediaGenErrorCodes.ContentFiltered).ErrorCode);
        Assert.Equal(TimeSpan.FromSeconds(9), GenerationException.Transient("x", TimeSpan.FromSeconds(9)).RetryAfter);
        var validation = new RequestValidationException("prompt", "blank");
        Assert.Equal(["blank"], validation.Errors["prompt"]);
        Assert.Contains("prompt: blank", validation.Message, StringComparison.Ordinal);
    }
}
