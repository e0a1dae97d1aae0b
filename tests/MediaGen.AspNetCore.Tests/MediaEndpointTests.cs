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

    // A Host header the server accepts but punycode cannot decode: URLs are built from the host as sent, so every response
    // that carries them still answers, the event stream's too.
    [Fact]
    public async Task Responses_ForAHostHeaderThatIsNotValidPunycode_StillCarryTheOutputUrls()
    {
        await using var host = await TestApiHost.StartAsync();
        using var client = host.CreateClient("punycode-owner");
        var id = await client.SubmitIdAsync(new { prompt = "a lighthouse", model = "procedural" });
        Assert.Equal("succeeded", (await client.WaitForFinalAsync(id)).Status());

        foreach (var path in new[] { $"/api/v1/generations/{id}", "/api/v1/generations", $"/api/v1/generations/{id}/events" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Host = "xn--";
            using var response = await client.SendAsync(request);

            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} answered {(int)response.StatusCode}: {body}");
            Assert.Contains($"/media/{id}/0.png?expires=", body, StringComparison.Ordinal);
        }
    }

    // What a static file server answers: validators, a 304 for a client that has the output, ranges, HEAD; and a stored
    // output replaced by a retry gets new validators. No request leaves the file open.
    [Fact]
    public async Task ReadUrl_AnswersConditionalRangeAndHeadRequests_LikeAStaticFileServer()
    {
        await using var host = await TestApiHost.StartAsync(worker: false);
        var url = await SaveAsync(host, "job-validators/0.png");
        // One connection: Kestrel reads a connection's next request only once the last one's pipeline has returned, which
        // for a served file is after its stream was disposed.
        using var anonymous = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = host.Address };

        using var first = await anonymous.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var tag = first.Headers.ETag;
        var lastModified = first.Content.Headers.LastModified;
        Assert.NotNull(tag);
        Assert.False(tag.IsWeak);
        Assert.NotNull(lastModified);
        Assert.Equal("bytes", Assert.Single(first.Headers.AcceptRanges));

        using (var byTag = new HttpRequestMessage(HttpMethod.Get, url) { Headers = { IfNoneMatch = { tag } } })
        using (var notModified = await anonymous.SendAsync(byTag))
        {
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
            Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());
        }

        using (var byTime = new HttpRequestMessage(HttpMethod.Get, url) { Headers = { IfModifiedSince = lastModified } })
        using (var notModified = await anonymous.SendAsync(byTime))
        {
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        }

        using (var ranged = new HttpRequestMessage(HttpMethod.Get, url) { Headers = { Range = new System.Net.Http.Headers.RangeHeaderValue(2, 5) } })
        using (var partial = await anonymous.SendAsync(ranged))
        {
            Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
            Assert.Equal("bytes 2-5/11", partial.Content.Headers.ContentRange?.ToString());
            Assert.Equal(Png[2..6], await partial.Content.ReadAsByteArrayAsync());
        }

        using (var head = await anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Head, url)))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(Png.Length, head.Content.Headers.ContentLength);
            Assert.Equal("image/png", head.Content.Headers.ContentType?.MediaType);
            Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        }

        // A retry stores the output again: the old tag no longer matches, and the new content is served.
        var storage = host.Services.GetRequiredService<IMediaStorage>();
        byte[] again = [.. Png, 4, 5];
        await storage.SaveAsync("job-validators/0.png", new MemoryStream(again), new StorageWriteOptions { ContentType = "image/png" });
        using (var stale = new HttpRequestMessage(HttpMethod.Get, url) { Headers = { IfNoneMatch = { tag } } })
        using (var replaced = await anonymous.SendAsync(stale))
        {
            Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
            Assert.NotEqual(tag, replaced.Headers.ETag);
            Assert.Equal(again, await replaced.Content.ReadAsByteArrayAsync());
        }

        if (OperatingSystem.IsLinux())
        {
            // A request after the others on the same connection: when it is answered, every request before it has ended.
            using (var after = await anonymous.GetAsync("/media/job-validators/none.png"))
            {
                Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
            }

            var open = Directory.GetFiles("/proc/self/fd").Count(fd =>
            {
                try
                {
                    return new FileInfo(fd).LinkTarget is { } target && target.Contains("/job-validators/0.png", StringComparison.Ordinal);
                }
                catch (IOException)
                {
                    return false;
                }
            });
            Assert.Equal(0, open);
        }
    }

    // The media path with no key at all was refused by parameter binding, with a bare 400 and no problem body.
    [Fact]
    public async Task MediaPathWithoutAKey_Is404LikeAMissingFile()
    {
        await using var host = await TestApiHost.StartAsync(worker: false);
        var url = (await SaveAsync(host, "job-e/0.png")).OriginalString;
        using var anonymous = new HttpClient { BaseAddress = host.Address };

        foreach (var path in new[] { "/media/", "/media/" + url[url.IndexOf('?', StringComparison.Ordinal)..] })
        {
            using var response = await anonymous.GetAsync(path);
            await response.AssertProblemAsync(404, MediaGenErrorCodes.StorageObjectNotFound);
            using var head = await anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        }
    }

    // A signed URL whose key names a folder of outputs is a 404 like any key with no output.
    [Fact]
    public async Task ReadUrl_KeyNamingAFolder_Is404()
    {
        await using var host = await TestApiHost.StartAsync(worker: false);
        await SaveAsync(host, "job-d/0.png");
        var folder = await host.Services.GetRequiredService<IMediaStorage>().GetReadUrlAsync("job-d");
        using var anonymous = new HttpClient { BaseAddress = host.Address };

        using var response = await anonymous.GetAsync(folder);

        await response.AssertProblemAsync(404, MediaGenErrorCodes.StorageObjectNotFound);
    }

    [Fact]
    public async Task EveryOutput_IsServedWithNosniffAndASandboxingContentSecurityPolicy()
    {
        await using var host = await TestApiHost.StartAsync(worker: false);
        var png = await SaveAsync(host, "job-f/0.png");

        // An output stored under a type a browser would run, as one stored before outputs were checked could be.
        var html = await SaveAsync(host, "job-f/1.bin", "text/html", "<script>alert(document.domain)</script>"u8.ToArray());
        using var anonymous = new HttpClient { BaseAddress = host.Address };

        foreach (var url in new[] { png, html })
        {
            using var response = await anonymous.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(["nosniff"], response.Headers.GetValues("X-Content-Type-Options"));
            Assert.Equal(["default-src 'none'; sandbox"], response.Headers.GetValues("Content-Security-Policy"));
        }

        using (var ranged = new HttpRequestMessage(HttpMethod.Get, png))
        {
            ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 3);
            using var partial = await anonymous.SendAsync(ranged);
            Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
            Assert.Equal(["nosniff"], partial.Headers.GetValues("X-Content-Type-Options"));
            Assert.Equal(["default-src 'none'; sandbox"], partial.Headers.GetValues("Content-Security-Policy"));
        }
    }

    private static async Task<Uri> SaveAsync(TestApiHost host, string key, string contentType = "image/png", byte[]? content = null)
    {
        var storage = host.Services.GetRequiredService<IMediaStorage>();
        await storage.SaveAsync(key, new MemoryStream(content ?? Png), new StorageWriteOptions { ContentType = contentType });
        return await storage.GetReadUrlAsync(key);
    }
}
