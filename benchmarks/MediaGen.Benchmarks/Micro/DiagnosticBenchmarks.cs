using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;

namespace MediaGen.Benchmarks.Micro;

/// <summary>
/// Follow-ups to the component figures: how the in-memory queue's cost depends on the lease duration (settled leases
/// stay in its expiry heap until they would have expired), and what a random job id costs.
/// </summary>
[Config(typeof(ShortInProcessConfig))]
public class DiagnosticBenchmarks
{
    private readonly QueueMessage _message = new("0123456789abcdef0123456789abcdef");
    private readonly byte[] _buffer = new byte[4096];
    private ServiceProvider _services = null!;
    private IJobQueue _queue = null!;

    /// <summary>The in-memory queue's lease duration.</summary>
    [Params("00:00:30", "00:00:01")]
    public string LeaseDuration { get; set; } = "00:00:30";

    /// <summary>Builds the container with the chosen lease duration.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddMediaGeneration().UseInMemoryQueue(o => o.LeaseDuration = TimeSpan.Parse(LeaseDuration, System.Globalization.CultureInfo.InvariantCulture));
        _services = services.BuildServiceProvider();
        _queue = _services.GetRequiredService<IJobQueue>();
    }

    /// <summary>Disposes the container.</summary>
    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    /// <summary>One message through the in-memory queue: enqueue, receive one, complete.</summary>
    [Benchmark(Description = "queue: enqueue + receive + complete")]
    public async Task QueueRoundTrip()
    {
        await _queue.EnqueueAsync(_message).ConfigureAwait(false);
        var leases = await _queue.ReceiveAsync(1, TimeSpan.Zero).ConfigureAwait(false);
        await leases[0].CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>A random GUID, no string.</summary>
    [Benchmark(Description = "Guid.NewGuid()")]
    public Guid NewGuid() => Guid.NewGuid();

    /// <summary>16 random bytes from the OS generator, one call each.</summary>
    [Benchmark(Description = "RandomNumberGenerator.Fill(16 B)")]
    public byte FillSixteen()
    {
        RandomNumberGenerator.Fill(_buffer.AsSpan(0, 16));
        return _buffer[0];
    }

    /// <summary>16 random bytes per id when the OS generator is asked for 4 KB at a time (256 ids per call).</summary>
    [Benchmark(Description = "RandomNumberGenerator.Fill(4 KB) / 256", OperationsPerInvoke = 256)]
    public byte FillBuffered()
    {
        RandomNumberGenerator.Fill(_buffer);
        return _buffer[0];
    }
}
