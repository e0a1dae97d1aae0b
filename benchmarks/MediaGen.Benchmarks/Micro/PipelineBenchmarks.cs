using BenchmarkDotNet.Attributes;

namespace MediaGen.Benchmarks.Micro;

/// <summary>Submit and process on the in-memory pipeline, end to end, through the public client and the hosted worker.</summary>
[Config(typeof(ShortInProcessConfig))]
public class PipelineBenchmarks
{
    private const int Batch = 1000;
    private readonly GenerationRequest _request = new() { Prompt = "a lighthouse on a cliff at dusk", Model = NoOpGenerator.ModelId, OwnerId = "bench" };
    private MediaGenPipeline _pipeline = null!;
    private long _expected;

    /// <summary>The worker's concurrency.</summary>
    [Params(16)]
    public int Concurrency { get; set; }

    /// <summary>Starts the host.</summary>
    [GlobalSetup]
    public void Setup() => _pipeline = MediaGenPipeline.StartAsync(Concurrency, new NoOpGenerator()).GetAwaiter().GetResult();

    /// <summary>Stops the host.</summary>
    [GlobalCleanup]
    public void Cleanup() => _pipeline.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>One job submitted and awaited until Succeeded: the round trip with nothing else queued.</summary>
    [Benchmark(Description = "submit one + await Succeeded")]
    public async Task SubmitAndAwaitOne()
    {
        var done = _pipeline.Completions.WhenFinished(++_expected);
        await _pipeline.Client.SubmitAsync(_request).ConfigureAwait(false);
        await done.ConfigureAwait(false);
    }

    /// <summary>A batch submitted back to back and awaited: per-job cost with the worker pipelined.</summary>
    [Benchmark(Description = "submit 1000 + await all (per job)", OperationsPerInvoke = Batch)]
    public async Task SubmitBatchAndAwait()
    {
        _expected += Batch;
        var done = _pipeline.Completions.WhenFinished(_expected);
        for (var i = 0; i < Batch; i++)
        {
            await _pipeline.Client.SubmitAsync(_request).ConfigureAwait(false);
        }

        await done.ConfigureAwait(false);
    }
}
