using System.Text;

namespace MediaGen.Core.Tests.Storage;

/// <summary>
/// The file-system storage's URL signature: HMAC-SHA256 of <c>"{key}\n{expires}"</c> in base64url without padding. The
/// expected values are computed apart from MediaGen (Python's hmac and base64), so a URL handed out by any version of
/// the storage stays valid across a change of how it is computed.
/// </summary>
public sealed class MediaUrlSignatureTests
{
    private static readonly DateTimeOffset Expires = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);
    private readonly MediaUrlSignature _signature = new(Encoding.UTF8.GetBytes("signing-key"));

    [Theory]
    [InlineData("job-1/0.png", "bP0LWVzc62WUTMczAZxQ8MQjwX6ELaE8miw6OiLZqZQ")]
    [InlineData("job-ü/0.png", "6uTMQPwKYxMb8OdsKkVbzDHduxSN9coLq0BjeX3zTpE")]
    public void SignedUrl_KnownKeyAndExpiry_IsTheBaseTheKeyAndTheHmacOfKeyAndExpiry(string key, string expected)
    {
        var url = _signature.SignedUrl("/media/", key, Expires);

        Assert.Equal($"/media/{key}?expires=1700000000&signature={expected}", url);
    }

    [Fact]
    public void IsValid_TheSignatureSignedUrlGave_UntilItExpires()
    {
        var (expires, signature) = Query(_signature.SignedUrl("https://cdn.example/", "job-1/0.png", Expires));

        Assert.True(_signature.IsValid("job-1/0.png", expires, signature, Expires.AddSeconds(-1)));
        Assert.False(_signature.IsValid("job-1/0.png", expires, signature, Expires));
        Assert.False(_signature.IsValid("job-1/1.png", expires, signature, Expires.AddSeconds(-1)));
        Assert.False(_signature.IsValid("job-1/0.png", "1700000001", signature, Expires.AddSeconds(-1)));
        Assert.False(new MediaUrlSignature(Encoding.UTF8.GetBytes("other-key")).IsValid("job-1/0.png", expires, signature, Expires.AddSeconds(-1)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("bP0LWVzc62WUTMczAZxQ8MQjwX6ELaE8miw6OiLZqZ")] // one character short
    [InlineData("bP0LWVzc62WUTMczAZxQ8MQjwX6ELaE8miw6OiLZqZQQ")] // one too many
    [InlineData("bP0LWVzc62WUTMczAZxQ8MQjwX6ELaE8miw6OiLZqZR")] // the same bytes (the last character's unused bits differ), not the same text
    [InlineData("bP0LWVzc62WUTMczAZxQ8MQjwX6ELaE8miw6OiLZq!Q")] // not base64url
    [InlineData("bP0LWVzc62WUTMczAZxQ8MQjwX6ELaE8miw6OiLZqZ=")] // padding where a character belongs
    public void IsValid_MalformedOrAlteredSignature_False(string? signature)
    {
        Assert.False(_signature.IsValid("job-1/0.png", "1700000000", signature, Expires.AddSeconds(-1)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("-1700000000")]
    [InlineData("1.7e9")]
    [InlineData("99999999999999999999")]
    public void IsValid_MalformedExpiry_False(string? expires)
    {
        Assert.False(_signature.IsValid("job-1/0.png", expires, "bP0LWVzc62WUTMczAZxQ8MQjwX6ELaE8miw6OiLZqZQ", Expires.AddSeconds(-1)));
    }

    // The longest key's UTF-8 does not fit the stack buffer the usual key is encoded in.
    [Fact]
    public void SignedUrlAndIsValid_LongestKeyOfMultiByteCharacters_RoundTrip()
    {
        var key = "job/" + new string('ü', MediaStorageKeys.MaxLength - 4);
        var (expires, signature) = Query(_signature.SignedUrl("/media/", key, Expires));

        Assert.True(_signature.IsValid(key, expires, signature, Expires.AddSeconds(-1)));
        Assert.False(_signature.IsValid(key[..^1] + "u", expires, signature, Expires.AddSeconds(-1)));
    }

    private static (string Expires, string Signature) Query(string url)
    {
        var query = System.Web.HttpUtility.ParseQueryString(url[url.IndexOf('?', StringComparison.Ordinal)..]);
        return (query["expires"]!, query["signature"]!);
    }
}
