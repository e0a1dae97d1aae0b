namespace MediaGen.Core.Tests.Pipeline;

/// <summary>Thumbnails are best effort: a thumbnailer that fails leaves the output as it was and the job succeeds.</summary>
public sealed class ThumbnailFailureTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("mediagen-thumbnail-failure");

    public void Dispose() => _root.Delete(recursive: true);

    [Fact]
    public async Task Worker_ThumbnailerFails_JobSucceedsWithTheOutputAndNoThumbnail()
    {
        var generator = new ScriptedGenerator("plain", (_, _) => ValueTask.FromResult(ScriptedGenerator.TextOutputs("not really a png")));
        var thumbnailer = new FailingThumbnailer();
        using var host = Host.CreateDefaultBuilder().ConfigureServices(services =>
        {
            services.AddMediaGeneration()
                .UseFileSystemStorage(o => o.RootPath = _root.FullName)
                .ConfigureCredits(o => o.InitialBalance = 100)
                .AddGenerator(generator)
                .AddWorker();
            services.AddSingleton<IImageThumbnailer>(thumbnailer);
        }).Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();

        var submitted = await client.SubmitAsync(new GenerationRequest { Prompt = "a fox", Model = generator.ModelId, OwnerId = "alice" });
        var job = await host.Services.WaitForTerminalAsync("alice", submitted.Job.Id);

        Assert.Equal(JobStatus.Succeeded, job.Status);
        var output = Assert.Single(job.Outputs);
        Assert.Null(output.ThumbnailKey);
        Assert.Equal("image/png", output.ContentType);
        Assert.Equal(1, thumbnailer.Calls);
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(_root.FullName, job.Id)), f => f.Contains(".thumb.", StringComparison.Ordinal));
        await host.StopAsync();
    }

    private sealed class FailingThumbnailer : IImageThumbnailer
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public async ValueTask<ThumbnailResult> CreateThumbnailAsync(Stream source, Stream destination, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            using var reader = new StreamReader(source);
            Assert.Equal("not really a png", await reader.ReadToEndAsync(cancellationToken));
            throw new InvalidDataException("The output is not an image.");
        }
    }
}
