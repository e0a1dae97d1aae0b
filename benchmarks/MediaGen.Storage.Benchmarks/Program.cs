// Saves a generated, non-seekable 200 MB stream to each storage whose server eng/test.sh (or eng/servers/*.sh)
// started, and reports the peak growth of managed memory and of the process working set during the save.
// Usage: dotnet run -c Release --project benchmarks/MediaGen.Storage.Benchmarks [-- sizeInMiB]
using System.Diagnostics;
using System.Globalization;
using MediaGen;
using Microsoft.Extensions.DependencyInjection;

var sizeMiB = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200;
var size = sizeMiB * 1024L * 1024L;
var targets = new List<(string Name, Action<IMediaGenerationBuilder> Use)>();

if (Environment.GetEnvironmentVariable("MEDIAGEN_S3_ENDPOINT") is { Length: > 0 } s3)
{
    targets.Add(("S3 (radosgw)", b => b.UseS3Storage(o =>
    {
        o.ServiceUrl = new Uri(s3);
        o.AccessKey = Environment.GetEnvironmentVariable("MEDIAGEN_S3_ACCESS_KEY");
        o.SecretKey = Environment.GetEnvironmentVariable("MEDIAGEN_S3_SECRET_KEY");
        o.ForcePathStyle = true;
        o.RequestChecksumCalculation = S3ChecksumCalculation.WhenRequired;
        o.BucketName = "mediagen-benchmark";
        o.CreateBucketIfMissing = true;
    })));
}

if (Environment.GetEnvironmentVariable("MEDIAGEN_AZURITE_CONNECTION_STRING") is { Length: > 0 } blob)
{
    targets.Add(("Blob (Azurite)", b => b.UseBlobStorage(o =>
    {
        o.ConnectionString = blob;
        o.ContainerName = "mediagen-benchmark";
        o.CreateContainerIfMissing = true;
    })));
}

if (targets.Count == 0)
{
    Console.Error.WriteLine("No storage server: start them with eng/servers/s3.sh and eng/servers/azurite.sh (see eng/test.sh).");
    return 1;
}

Console.WriteLine($"Saving {sizeMiB} MiB from a non-seekable stream of unknown length; growth is measured from just before the save.");
Console.WriteLine();
Console.WriteLine("| storage | seconds | MiB/s | peak managed growth | peak GC heap growth | peak working-set growth |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|");
foreach (var (name, use) in targets)
{
    var services = new ServiceCollection();
    use(services.AddMediaGeneration());
    await using var provider = services.BuildServiceProvider();
    var storage = provider.GetRequiredService<IMediaStorage>();

    // Warm up: create the bucket or container, open connections, JIT the save path.
    await storage.SaveAsync("benchmark/warm-up.bin", new PatternStream(3 * 1024 * 1024), new StorageWriteOptions { ContentType = "application/octet-stream" });
    await storage.DeletePrefixAsync("benchmark/");

    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect();
    using var process = Process.GetCurrentProcess();
    process.Refresh();
    var baseManaged = GC.GetTotalMemory(false);
    var baseHeap = GC.GetGCMemoryInfo().HeapSizeBytes;
    var baseWorkingSet = process.WorkingSet64;
    long peakManaged = baseManaged, peakHeap = baseHeap, peakWorkingSet = baseWorkingSet;

    using var stop = new CancellationTokenSource();
    var sampler = new Thread(() =>
    {
        while (!stop.IsCancellationRequested)
        {
            process.Refresh();
            peakManaged = Math.Max(peakManaged, GC.GetTotalMemory(false));
            peakHeap = Math.Max(peakHeap, GC.GetGCMemoryInfo().HeapSizeBytes);
            peakWorkingSet = Math.Max(peakWorkingSet, process.WorkingSet64);
            Thread.Sleep(5);
        }
    }) { IsBackground = true };
    sampler.Start();

    var watch = Stopwatch.StartNew();
    var stored = await storage.SaveAsync(
        "benchmark/200mb.bin",
        new PatternStream(size),
        new StorageWriteOptions { ContentType = "application/octet-stream", Metadata = new Dictionary<string, string> { ["job-id"] = "benchmark" } });
    watch.Stop();
    stop.Cancel();
    sampler.Join();

    if (stored.Size != size || (await storage.GetInfoAsync("benchmark/200mb.bin"))?.Size != size)
    {
        Console.Error.WriteLine($"{name}: stored {stored.Size} bytes, expected {size}.");
        return 1;
    }

    await storage.DeletePrefixAsync("benchmark/");
    static string MiB(long bytes) => (bytes / 1024.0 / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";
    Console.WriteLine(
        $"| {name} | {watch.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} | {(sizeMiB / watch.Elapsed.TotalSeconds).ToString("0", CultureInfo.InvariantCulture)} | " +
        $"{MiB(peakManaged - baseManaged)} | {MiB(peakHeap - baseHeap)} | {MiB(peakWorkingSet - baseWorkingSet)} |");
}

return 0;

/// <summary>A read-only, non-seekable stream of a repeating byte pattern, produced as it is read.</summary>
internal sealed class PatternStream(long length) : Stream
{
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, length - _position);
        for (var i = 0; i < n; i++)
        {
            buffer[i] = (byte)((_position + i) * 31 % 251);
        }

        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
