namespace MediaGen.AspNetCore.Tests;

/// <summary>File-system outputs served by the package under signed, expiring URLs only.</summary>
public sealed class MediaEndpointTests
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3];

    [Fact]
    public async Task ReadUrl_ServesTheOutput_UntilItExpires_ThenIs404()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        await using var host = await TestApiHost.StartAsync(worker: false, services: s => s.AddSingleton<TimeProvider>(time));
        var url = await SaveAsync(host, "job-a/0.png");
        using var anonymous = new HttpClient { BaseAddress = host.Address };

        Assert.False(url.IsAbsoluteUri);
        using (var response = await anonymous.GetAsync(url))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(Png, await response.Content.ReadAsByteArrayAsync());
        }

        time.Advance(TimeSpan.FromMinutes(59));
        using (var stillValid = await anonymous.GetAsync(url))
        {
            Assert.Equal(HttpStatusCode.OK, stillValid.StatusCode);
        }

        time.Advance(TimeSpan.FromMinutes(2));
        using var expired = await anonymous.GetAsync(url);
        await expired.AssertProblemAsync(404, MediaGenErrorCodes.StorageObjectNotFound);
    }

    [Fact]
    public async Task UnsignedTamperedOrBorrowedSignatures_Are404LikeAMissingFile()
    {
        await using var host = await TestApiHost.StartAsync(worker: false);
        var url = (await SaveAsync(host, "job-b/0.png")).OriginalString;
        await SaveAsync(host, "job-b/1.png");
        var query = url[url.IndexOf('?', StringComparison.Ordinal)..];
        var expires = query.Split('&')[0]["?expires=".Length..];
        var signature = query.Split('&')[1]["signature=".Length..];
        using var anonymous = new HttpClient { BaseAddress = host.Address };

        var refused = new[]
        {
            "/media/job-b/0.png",
            "/media/job-b/0.png?expires=" + expires,
            "/media/job-b/1.png" + query,
            "/media/job-b/0.png?expires=" + (long.Parse(expires, System.Globalization.CultureInfo.InvariantCulture) + 1) + "&signature=" + signature,
            "/media/job-b/0.png?expires=" + expires + "&signature=" + (signature[0] == 'A' ? 'B' : 'A') + signature[1..],
            "/media/job-b/0.png?expires=" + expires + "&signature=" + signature + "AA",
            "/media/job-b/0.png.meta" + query,
            "/media/job-b/9.png" + query,
        };
        foreach (var path in refused)
        {
            using var response = await anonymous.GetAsync(path);
            await response.AssertProblemAsync(404, MediaGenErrorCodes.StorageObjectNotFound);
        }

        using var signed = await anonymous.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, signed.StatusCode);
    }

    [Fact]
    public async Task JobResponse_CarriesAbsoluteSignedUrls_FromTheConfiguredPublicBaseUrl()
    {
        await using var host = await TestApiHost.StartAsync(api: o => o.PublicBaseUrl = new Uri("https://images.example.com/app/"));
        using var client = host.CreateClient("media-owner");
        var id = await client.SubmitIdAsync(new { prompt = "a kingfisher", model = "procedural" });

        var job = await client.WaitForFinalAsync(id);

        var url = new Uri(job.GetProperty("outputs")[0].GetProperty("url").GetString()!);
        Assert.Equal("https://images.example.com/app/media/" + id + "/0.png", url.GetLeftPart(UriPartial.Path));
        using var served = await client.GetAsync(url.PathAndQuery["/app".Length..]);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    private static async Task<Uri> SaveAsync(TestApiHost host, string key)
    {
        var storage = host.Services.GetRequiredService<IMediaStorage>();
        await storage.SaveAsync(key, new MemoryStream(Png), new StorageWriteOptions { ContentType = "image/png" });
        return await storage.GetReadUrlAsync(key);
    }
}
