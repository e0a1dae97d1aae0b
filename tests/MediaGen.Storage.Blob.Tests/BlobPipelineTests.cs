using MediaGen.Compliance;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MediaGen.Storage.Blob.Tests;

/// <summary>A job run end to end with its outputs on Azurite: stored with the job's metadata, SAS URLs, deleted with the job.</summary>
public sealed class BlobPipelineTests : IAsyncLifetime
{
    private readonly string _container = BlobTestServer.NewContainerName();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(BlobTestServer.EndpointVariable)))
        {
            await BlobTestServer.CreateAdminClient().GetBlobContainerClient(_container).DeleteIfExistsAsync();
        }
    }

    [ServerFact(BlobTestServer.EndpointVariable)]
    public async Task Job_WithWorker_StoresOutputsWithSasUrlsAndDeletesThemWithTheJob()
    {
        var generator = new FixedOutputGenerator([1, 2, 3], [4, 5, 6, 7]);
        using var host = Host.CreateDefaultBuilder().ConfigureServices(services => services
            .AddMediaGeneration()
            .UseBlobStorage(o => BlobTestServer.Configure(o, _container, prefix: "media/"))
            .ConfigureCredits(o => o.InitialBalance = 100)
            .AddGenerator(generator)
            .AddWorker()).Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var storage = host.Services.GetRequiredService<IMediaStorage>();

        var submitted = await client.SubmitAsync(new GenerationRequest { Prompt = "a red fox", Model = FixedOutputGenerator.ModelId, OwnerId = "alice" });
        var job = await PollAsync(client, "alice", submitted.Job.Id);

        Assert.Equal(JobStatus.Succeeded, job.Status);
        using var http = new HttpClient();
        Assert.Equal([1, 2, 3], await http.GetByteArrayAsync(job.Outputs[0].Url));
        Assert.Equal([4, 5, 6, 7], await http.GetByteArrayAsync(job.Outputs[1].Url));
        Assert.Contains("sig=", job.Outputs[0].Url!.Query, StringComparison.Ordinal);
        var info = await storage.GetInfoAsync(job.Outputs[0].Key);
        Assert.NotNull(info);
        Assert.Equal(job.Id, info.Metadata["job-id"]);
        Assert.Equal("alice", info.Metadata["owner"]);
        Assert.Equal(FixedOutputGenerator.ModelId, info.Metadata["model"]);

        await client.DeleteAsync("alice", job.Id);

        Assert.Null(await storage.GetInfoAsync(job.Outputs[0].Key));
        Assert.Null(await storage.GetInfoAsync(job.Outputs[1].Key));
        await host.StopAsync();
    }

    private static async Task<GenerationJob> PollAsync(IMediaGenerationClient client, string owner, string id)
    {
        // A real server: poll, bounded, until the worker has finished the job.
        for (var i = 0; i < 300; i++)
        {
            var job = await client.GetAsync(owner, id);
            if (job.Status.IsTerminal())
            {
                return job;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }

        throw new TimeoutException($"Job {id} did not finish within 15 seconds.");
    }
}

/// <summary>A generator that returns fixed PNG outputs.</summary>
internal sealed class FixedOutputGenerator(params byte[][] outputs) : IMediaGenerator
{
    public const string ModelId = "fixed-model";

    public string Name => "fixed";

    public IReadOnlyList<ModelDescriptor> Models { get; } = [new ModelDescriptor { Id = ModelId, CostCredits = 1 }];

    public ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(new GenerationResult([.. outputs.Select(o => GeneratedOutput.FromBytes("image/png", o))]));
}
