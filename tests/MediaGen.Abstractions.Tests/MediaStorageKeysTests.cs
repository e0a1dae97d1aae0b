namespace MediaGen.Abstractions.Tests;

public sealed class MediaStorageKeysTests
{
    [Theory]
    [InlineData("image/png", "abc/0.png")]
    [InlineData("image/jpeg; charset=binary", "abc/0.jpg")]
    [InlineData("IMAGE/WEBP", "abc/0.webp")]
    [InlineData("application/x-unknown", "abc/0.bin")]
    public void ForOutput_ContentType_PicksExtension(string contentType, string expected) =>
        Assert.Equal(expected, MediaStorageKeys.ForOutput("abc", 0, contentType));

    [Theory]
    [InlineData("")]
    [InlineData("/abs")]
    [InlineData("../x")]
    [InlineData("a/../../x")]
    [InlineData("a//b")]
    [InlineData("a/./b")]
    [InlineData("a\\b")]
    [InlineData("c:x")]
    [InlineData("a/b/")]
    [InlineData("a/\u0001")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("a/..")]
    [InlineData("\u007f/a")]
    [InlineData("a/b\u0085c")]
    public void Validate_BadKey_ThrowsTyped(string key)
    {
        var e = Assert.Throws<InvalidStorageKeyException>(() => MediaStorageKeys.Validate(key));
        Assert.Equal(MediaGenErrorCodes.InvalidStorageKey, e.ErrorCode);
    }

    [Theory]
    [InlineData("job/0.png")]
    [InlineData("prefix/job/thumb.0.png")]
    [InlineData("x")]
    [InlineData("a/.b/..c/...")]
    public void Validate_GoodKey_Passes(string key) => MediaStorageKeys.Validate(key);

    [Fact]
    public void ValidatePrefix_RequiresTrailingSlash()
    {
        MediaStorageKeys.ValidatePrefix("job/");
        Assert.Throws<InvalidStorageKeyException>(() => MediaStorageKeys.ValidatePrefix("job"));
        Assert.Throws<InvalidStorageKeyException>(() => MediaStorageKeys.ValidatePrefix("../"));
    }
}
