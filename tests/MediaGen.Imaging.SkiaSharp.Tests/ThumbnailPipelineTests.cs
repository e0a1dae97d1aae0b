using MediaGen.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MediaGen.Imaging.SkiaSharp.Tests;

/// <summary>The worker with SkiaSharp thumbnails, end to end: procedural PNGs stored on the file system, thumbnails beside them.</summary>
public sealed class ThumbnailPipelineTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("mediagen-thumbnails");

    public void Dispose() => _root.Delete(recursive: true);

    [Fact]
    public async Task Worker_WithSkiaSharpThumbnails_StoresAThumbnailBesideEachOutputAndItsTrueSize()
    {
        using var host = await StartHostAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();

        var submitted = await client.SubmitAsync(new GenerationRequest
        {
            Prompt = "a lighthouse at dusk",
            Model = "procedural",
            OwnerId = "alice",
            Settings = new GenerationSettings { Width = 320, Height = 192, OutputCount = 2 },
        });
        var job = await host.Services.WaitForTerminalAsync("alice", submitted.Job.Id);

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(2, job.Outputs.Count);
        foreach (var output in job.Outputs)
        {
            Assert.Equal((320, 192, "image/png"), (output.Width, output.Height, output.ContentType));
            Assert.Equal($"{job.Id}/{output.Index}.thumb.webp", output.ThumbnailKey);
            Assert.Equal("image/webp", output.ThumbnailContentType);
            await using var stored = File.OpenRead(Path.Combine(_root.FullName, output.ThumbnailKey!));
            Assert.Equal((SKEncodedImageFormat.Webp, 128, 77), SkiaThumbnailerTests.Read(stored));
        }

        // Deleting the job deletes its thumbnails with its outputs.
        await client.DeleteAsync("alice", job.Id);
        Assert.False(Directory.Exists(Path.Combine(_root.FullName, job.Id)) && Directory.EnumerateFiles(Path.Combine(_root.FullName, job.Id)).Any());
        await host.StopAsync();
    }

    [Fact]
    public async Task ResultCacheHit_CopiesEachThumbnailUnderTheNewJobAndKeepsItAfterTheOriginalIsDeleted()
    {
        using var host = await StartHostAsync(b => b.ConfigureResultCache(o => o.Models.Add("procedural")));
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var request = new GenerationRequest
        {
            Prompt = "a lighthouse at dusk",
            Model = "procedural",
            OwnerId = "alice",
            Settings = new GenerationSettings { Width = 320, Height = 192, OutputCount = 2, Seed = 7 },
        };
        var original = await host.Services.WaitForTerminalAsync("alice", (await client.SubmitAsync(request)).Job.Id);
        var thumbnails = original.Outputs.Select(o => File.ReadAllBytes(Path.Combine(_root.FullName, o.ThumbnailKey!))).ToList();

        var hit = (await client.SubmitAsync(request with { OwnerId = "bob" })).Job;
        await client.DeleteAsync("alice", original.Id);

        Assert.True(hit.CacheHit);
        Assert.Equal(2, hit.Outputs.Count);
        foreach (var output in hit.Outputs)
        {
            Assert.Equal((320, 192, "image/png"), (output.Width, output.Height, output.ContentType));
            Assert.Equal($"{hit.Id}/{output.Index}.thumb.webp", output.ThumbnailKey);
            Assert.Equal("image/webp", output.ThumbnailContentType);
            Assert.Equal(thumbnails[output.Index], await File.ReadAllBytesAsync(Path.Combine(_root.FullName, output.ThumbnailKey!)));
        }

        Assert.False(Directory.Exists(Path.Combine(_root.FullName, original.Id)) && Directory.EnumerateFiles(Path.Combine(_root.FullName, original.Id)).Any());
        await host.StopAsync();
    }

    private async Task<IHost> StartHostAsync(Action<IMediaGenerationBuilder>? configure = null)
    {
        var host = Host.CreateDefaultBuilder().ConfigureServices(services =>
        {
            var builder = services
                .AddMediaGeneration()
                .UseFileSystemStorage(o => o.RootPath = _root.FullName)
                .AddProceduralGenerator(o => o.SimulatedDuration = TimeSpan.Zero)
                .ConfigureCredits(o => o.InitialBalance = 10)
                .AddSkiaSharpThumbnails(o => o.MaxSide = 128);
            configure?.Invoke(builder);
            builder.AddWorker();
        }).Build();
        await host.StartAsync();
        return host;
    }
}
