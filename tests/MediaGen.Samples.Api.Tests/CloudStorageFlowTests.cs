namespace MediaGen.Samples.Api.Tests;

/// <summary>
/// The API host configured for S3 (radosgw) or Blob (Azurite) storage with <c>MediaGen:Storage:Provider</c>: a job's
/// outputs come back with signed URLs that serve the PNGs, and thumbnail URLs that serve WebP thumbnails stored beside
/// them; deleting the job deletes both.
/// </summary>
public sealed class CloudStorageFlowTests
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [ServerFact("MEDIAGEN_S3_ENDPOINT")]
    public async Task Submit_WithS3Storage_OutputsHavePresignedUrlsAndGoWithTheJob()
    {
        using var factory = new ApiFactory(new Dictionary<string, string?>
        {
            ["MediaGen:Storage:Provider"] = "S3",
            ["MediaGen:S3:BucketName"] = "mediagen-sample-" + Guid.NewGuid().ToString("N")[..12],
            ["MediaGen:S3:Prefix"] = "media",
            ["MediaGen:S3:ServiceUrl"] = ServerEnvironment.Require("MEDIAGEN_S3_ENDPOINT"),
            ["MediaGen:S3:AccessKey"] = ServerEnvironment.Require("MEDIAGEN_S3_ACCESS_KEY"),
            ["MediaGen:S3:SecretKey"] = ServerEnvironment.Require("MEDIAGEN_S3_SECRET_KEY"),
            ["MediaGen:S3:ForcePathStyle"] = "true",
            ["MediaGen:S3:RequestChecksumCalculation"] = "WhenRequired",
            ["MediaGen:S3:CreateBucketIfMissing"] = "true",
        });

        await AssertFlowAsync(factory, "X-Amz-Signature=");
    }

    [ServerFact("MEDIAGEN_AZURITE_BLOB_ENDPOINT")]
    public async Task Submit_WithBlobStorage_OutputsHaveSasUrlsAndGoWithTheJob()
    {
        using var factory = new ApiFactory(new Dictionary<string, string?>
        {
            ["MediaGen:Storage:Provider"] = "Blob",
            ["MediaGen:Blob:ConnectionString"] = ServerEnvironment.Require("MEDIAGEN_AZURITE_CONNECTION_STRING"),
            ["MediaGen:Blob:ContainerName"] = "mediagen-sample-" + Guid.NewGuid().ToString("N")[..12],
            ["MediaGen:Blob:Prefix"] = "media",
            ["MediaGen:Blob:CreateContainerIfMissing"] = "true",
        });

        await AssertFlowAsync(factory, "sig=");
    }

    private static async Task AssertFlowAsync(ApiFactory factory, string signatureParameter)
    {
        using var client = factory.CreateClient();
        using var submitted = await client.SubmitAsync(new { prompt = "a lighthouse at dusk", model = "procedural", width = 64, height = 64, outputCount = 2 });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var id = (await submitted.ReadJsonAsync()).GetProperty("id").GetString()!;

        var job = await client.WaitForJobAsync(id, j => j.Status() is "succeeded" or "failed" or "canceled");

        Assert.Equal("succeeded", job.Status());
        using var http = new HttpClient();
        var urls = job.GetProperty("outputs").EnumerateArray().Select(o => new Uri(o.GetProperty("url").GetString()!)).ToArray();
        Assert.Equal(2, urls.Length);
        foreach (var url in urls)
        {
            Assert.Contains($"/media/{id}/", url.AbsolutePath, StringComparison.Ordinal);
            Assert.Contains(signatureParameter, url.Query, StringComparison.Ordinal);
            var bytes = await http.GetByteArrayAsync(url);
            Assert.Equal(PngSignature, bytes[..8]);
        }

        // A WebP thumbnail beside each output, in the same storage, signed the same way; the true size read from the PNG.
        var thumbnails = job.GetProperty("outputs").EnumerateArray().Select(o => new Uri(o.GetProperty("thumbnailUrl").GetString()!)).ToArray();
        Assert.All(job.GetProperty("outputs").EnumerateArray(), o => Assert.Equal((64, 64), (o.GetProperty("width").GetInt32(), o.GetProperty("height").GetInt32())));
        foreach (var url in thumbnails)
        {
            Assert.EndsWith(".thumb.webp", url.AbsolutePath, StringComparison.Ordinal);
            Assert.Contains(signatureParameter, url.Query, StringComparison.Ordinal);
            var bytes = await http.GetByteArrayAsync(url);
            Assert.Equal(("RIFF", "WEBP"), (System.Text.Encoding.ASCII.GetString(bytes, 0, 4), System.Text.Encoding.ASCII.GetString(bytes, 8, 4)));
        }

        Assert.True((await client.DeleteAsync($"/api/v1/generations/{id}")).IsSuccessStatusCode);
        foreach (var url in urls.Concat(thumbnails))
        {
            Assert.False((await http.GetAsync(url)).IsSuccessStatusCode);
        }
    }
}
