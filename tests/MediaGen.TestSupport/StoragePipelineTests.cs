namespace MediaGen.TestSupport;

/// <summary>
/// A job run end to end with a worker and its outputs on a real storage: stored with the job's metadata, served by
/// signed read URLs, deleted with the job. A storage's test project derives one class and says how to use it.
/// </summary>
public abstract class StoragePipelineTests
{
    /// <summary>Chooses the storage under test on <paramref name="builder"/>.</summary>
    /// <param name="builder">The builder.</param>
    protected abstract void UseStorage(IMediaGenerationBuilder builder);

    /// <summary>What a signed read URL's query holds, for example <c>X-Amz-Signature=</c>.</summary>
    protected abstract string SignatureQueryPart { get; }

    [ComplianceFact]
    public async Task Job_WithWorker_StoresOutputsWithSignedUrlsAndDeletesThemWithTheJob()
    {
        var generator = new FixedOutputGenerator([1, 2, 3], [4, 5, 6, 7]);
        using var host = Host.CreateDefaultBuilder().ConfigureServices(services =>
        {
            var builder = services.AddMediaGeneration();
            UseStorage(builder);
            builder.ConfigureCredits(o => o.InitialBalance = 100).AddGenerator(generator).AddWorker();
        }).Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var storage = host.Services.GetRequiredService<IMediaStorage>();

        var submitted = await client.SubmitAsync(new GenerationRequest { Prompt = "a red fox", Model = FixedOutputGenerator.ModelId, OwnerId = "alice" });
        var job = await host.Services.WaitForTerminalAsync("alice", submitted.Job.Id);

        Assert.Equal(JobStatus.Succeeded, job.Status);
        using var http = new HttpClient();
        Assert.Equal([1, 2, 3], await http.GetByteArrayAsync(job.Outputs[0].Url));
        Assert.Equal([4, 5, 6, 7], await http.GetByteArrayAsync(job.Outputs[1].Url));
        Assert.Contains(SignatureQueryPart, job.Outputs[0].Url!.Query, StringComparison.Ordinal);
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
}

/// <summary>A generator whose one model returns fixed PNG outputs.</summary>
/// <param name="outputs">The outputs' bytes.</param>
public sealed class FixedOutputGenerator(params byte[][] outputs) : IMediaGenerator
{
    /// <summary>The model's id.</summary>
    public const string ModelId = "fixed-model";

    /// <inheritdoc />
    public string Name => "fixed";

    /// <inheritdoc />
    public IReadOnlyList<ModelDescriptor> Models { get; } = [new ModelDescriptor { Id = ModelId, CostCredits = 1 }];

    /// <inheritdoc />
    public ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(new GenerationResult([.. outputs.Select(o => GeneratedOutput.FromBytes("image/png", o))]));
}
