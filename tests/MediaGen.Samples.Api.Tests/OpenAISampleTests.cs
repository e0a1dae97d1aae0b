namespace MediaGen.Samples.Api.Tests;

/// <summary>The sample API with <c>MediaGen:Generators:OpenAI:ApiKey</c> set, against an OpenAI-compatible images endpoint on loopback.</summary>
public sealed class OpenAISampleTests : IAsyncLifetime
{
    private FakeOpenAIImagesServer _server = null!;

    public async Task InitializeAsync() => _server = await FakeOpenAIImagesServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Submit_HdModelTwoImages_SucceedsWithTheImagesStoredAndChargedPerImage()
    {
        using var factory = new ApiFactory(new Dictionary<string, string?>
        {
            ["MediaGen:Generators:OpenAI:ApiKey"] = FakeOpenAIImagesServer.ApiKey,
            ["MediaGen:Generators:OpenAI:Endpoint"] = _server.Endpoint.AbsoluteUri,
        });
        using var client = factory.CreateClient();
        var before = await client.GetBalanceAsync();

        using var submitted = await client.SubmitAsync(new { prompt = "a paper lantern over a night market", model = "gpt-image-1-hd", outputCount = 2, aspectRatio = "3:2" });
        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        var id = (await submitted.ReadJsonAsync()).GetProperty("id").GetString()!;
        var job = await client.WaitForJobAsync(id, j => j.Status() is "succeeded" or "failed" or "canceled");

        Assert.Equal("succeeded", job.Status());
        var outputs = job.GetProperty("outputs").EnumerateArray().ToArray();
        Assert.Equal(2, outputs.Length);
        using var media = await client.GetAsync(outputs[1].GetProperty("url").GetString());
        Assert.Equal(FakeOpenAIImagesServer.ImageBytes(1, 1, _server.ImageSize), await media.Content.ReadAsByteArrayAsync());
        Assert.Equal(before - 32, await client.GetBalanceAsync());
        var body = Assert.Single(_server.Bodies);
        Assert.Equal(("high", "1536x1024", 2), (body["quality"]!.GetValue<string>(), body["size"]!.GetValue<string>(), body["n"]!.GetValue<int>()));
        Assert.Equal((1, 2), (_server.Calls, _server.ImagesGenerated));
    }

    [Fact]
    public async Task Start_ApiKeySet_ServesBothQualitiesBesideTheProceduralModels()
    {
        using var factory = new ApiFactory(new Dictionary<string, string?> { ["MediaGen:Generators:OpenAI:ApiKey"] = "sk-test" });
        using var client = factory.CreateClient();

        var models = await client.GetStringAsync("/api/v1/models");

        foreach (var id in new[] { "procedural", "gpt-image-1", "gpt-image-1-hd" })
        {
            Assert.Contains($"\"{id}\"", models, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Start_OpenAISectionWithoutApiKeyOrWithATypo_FailsNamingTheKeys()
    {
        using var factory = new ApiFactory(new Dictionary<string, string?>
        {
            ["MediaGen:Generators:OpenAI:Endpoint"] = "not a url",
            ["MediaGen:Generators:OpenAI:RefundUnknownOutcomes"] = "false",
        });

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        var messages = string.Join(Environment.NewLine, Flatten(error));
        Assert.Contains("MediaGen:Generators:OpenAI:ApiKey is required", messages, StringComparison.Ordinal);
        Assert.Contains("MediaGen:Generators:OpenAI:Endpoint must be an absolute http(s) URL", messages, StringComparison.Ordinal);
        Assert.Contains("MediaGen:Generators:OpenAI:RefundUnknownOutcomes is not a known setting", messages, StringComparison.Ordinal);
    }

    private static IEnumerable<string> Flatten(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            yield return e.Message;
            if (e is MediaGen.Samples.Hosting.MediaGenConfigurationException configuration)
            {
                foreach (var message in configuration.Errors)
                {
                    yield return message;
                }
            }
        }
    }
}
