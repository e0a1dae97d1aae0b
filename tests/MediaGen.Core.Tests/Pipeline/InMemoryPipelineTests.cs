namespace MediaGen.Core.Tests.Pipeline;

public sealed class InMemoryPipelineTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mediagen-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task SubmitAsync_WithWorker_JobSucceedsWithStoredOutputsAndCharge()
    {
        var generator = new ScriptedGenerator("smoke", (ctx, ct) =>
        {
            ctx.Progress.Report(new GenerationProgress(0.5, "half"));
            return ValueTask.FromResult(ScriptedGenerator.TextOutputs("first", "second"));
        });
        using var host = Host.CreateDefaultBuilder().ConfigureServices(services => services
            .AddMediaGeneration()
            .UseFileSystemStorage(o => o.RootPath = _root)
            .ConfigureCredits(o => o.InitialBalance = 100)
            .AddGenerator(generator)
            .AddWorker(o => o.Concurrency = 2)).Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var ledger = host.Services.GetRequiredService<ICreditLedger>();

        var submitted = await client.SubmitAsync(new GenerationRequest { Prompt = "a red fox", Model = generator.ModelId, OwnerId = "alice" });

        var job = await host.Services.WaitForTerminalAsync("alice", submitted.Job.Id);
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(1, job.Attempt);
        Assert.Equal([$"{job.Id}/0.png", $"{job.Id}/1.png"], job.Outputs.Select(o => o.Key));
        Assert.Equal("second", await File.ReadAllTextAsync(Path.Combine(_root, job.Id, "1.png")));
        Assert.Equal(95, await ledger.GetBalanceAsync("alice"));
        await host.StopAsync();
    }
}
