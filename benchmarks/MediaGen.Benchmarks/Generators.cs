using System.Diagnostics;
using System.Globalization;

namespace MediaGen.Benchmarks;

/// <summary>
/// A generator that does nothing but return one 1-byte output, so a run measures the pipeline around it. A job asks for
/// one output at least, and a result without it fails the job (refunded), so the smallest successful job stores one
/// output: the benchmark hosts store it in <see cref="DiscardStorage"/>.
/// </summary>
internal sealed class NoOpGenerator : IMediaGenerator
{
    public const string ModelId = "noop";

    /// <summary>
    /// The result every benchmark generator returns: a record that cannot change, and an output that opens a new stream
    /// over the same byte each time, so one serves all jobs.
    /// </summary>
    public static readonly GenerationResult OneOutput = new([GeneratedOutput.FromBytes("application/octet-stream", new byte[] { 1 })]);

    public string Name => "noop";

    public IReadOnlyList<ModelDescriptor> Models { get; } = [new ModelDescriptor { Id = ModelId, CostCredits = 1, ExpectedDuration = TimeSpan.Zero }];

    public ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(OneOutput);
}

/// <summary>
/// A no-op generator that records when each job started. The job's index travels in its prompt (<c>job 123</c>), so the
/// start can be matched with the submit timestamp the submitter wrote into the same slot before submitting.
/// </summary>
internal sealed class StartRecordingGenerator(long[] started) : IMediaGenerator
{
    public const string PromptPrefix = "job ";

    public string Name => "noop";

    public IReadOnlyList<ModelDescriptor> Models { get; } = [new ModelDescriptor { Id = NoOpGenerator.ModelId, CostCredits = 1, ExpectedDuration = TimeSpan.Zero }];

    public ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default)
    {
        var now = Stopwatch.GetTimestamp();
        var index = int.Parse(context.Request.Prompt.AsSpan(PromptPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture);
        started[index] = now;
        return ValueTask.FromResult(NoOpGenerator.OneOutput);
    }
}

/// <summary>
/// A generator that waits (real time) and returns the no-op output: an I/O-bound provider call. It keeps figures on the waits
/// themselves (how long each really took, how many ran at once) so a slow run can be told apart from slow timers.
/// </summary>
internal sealed class DelayGenerator(TimeSpan delay) : IMediaGenerator
{
    private TimeSpan _delay = delay;
    private long _running;
    private long _peakRunning;
    private long _count;
    private long _totalTicks;
    private long _maxTicks;
    private long _firstStart;
    private long _lastStart;

    public string Name => "delay";

    public IReadOnlyList<ModelDescriptor> Models { get; } = [new ModelDescriptor { Id = NoOpGenerator.ModelId, CostCredits = 1, ExpectedDuration = delay }];

    /// <summary>How long each generation waits from now on.</summary>
    public TimeSpan Delay
    {
        get => _delay;
        set => _delay = value;
    }

    public long PeakRunning => Volatile.Read(ref _peakRunning);

    public TimeSpan MeanWait => Volatile.Read(ref _count) == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(0, Volatile.Read(ref _totalTicks) / Volatile.Read(ref _count));

    public TimeSpan MaxWait => Stopwatch.GetElapsedTime(0, Volatile.Read(ref _maxTicks));

    /// <summary>Forgets the figures so far (after a warm-up).</summary>
    public void Reset()
    {
        Volatile.Write(ref _peakRunning, 0);
        Volatile.Write(ref _count, 0);
        Volatile.Write(ref _totalTicks, 0);
        Volatile.Write(ref _maxTicks, 0);
        Volatile.Write(ref _firstStart, 0);
        Volatile.Write(ref _lastStart, 0);
    }

    /// <summary>From the first attempt's start to the last one's.</summary>
    public TimeSpan StartSpread => Stopwatch.GetElapsedTime(Volatile.Read(ref _firstStart), Volatile.Read(ref _lastStart));

    public async ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default)
    {
        var start = Stopwatch.GetTimestamp();
        Interlocked.CompareExchange(ref _firstStart, start, 0);
        InterlockedMax(ref _lastStart, start);
        InterlockedMax(ref _peakRunning, Interlocked.Increment(ref _running));
        try
        {
            await Task.Delay(_delay, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            var took = Stopwatch.GetTimestamp() - start;
            Interlocked.Increment(ref _count);
            Interlocked.Add(ref _totalTicks, took);
            InterlockedMax(ref _maxTicks, took);
        }

        return NoOpGenerator.OneOutput;
    }

    private static void InterlockedMax(ref long location, long value)
    {
        var current = Volatile.Read(ref location);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref location, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}

/// <summary>Reads each output and keeps nothing, so a benchmark measures the pipeline rather than a disk.</summary>
internal sealed class DiscardStorage : IMediaStorage
{
    public async ValueTask<StoredObject> SaveAsync(string key, Stream content, StorageWriteOptions options, CancellationToken cancellationToken = default)
    {
        await content.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
        return new StoredObject { Key = key, Size = 1, ContentType = options.ContentType };
    }

    public ValueTask<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public ValueTask<StoredObject?> GetInfoAsync(string key, CancellationToken cancellationToken = default) => ValueTask.FromResult<StoredObject?>(null);

    public ValueTask<bool> DeleteAsync(string key, CancellationToken cancellationToken = default) => ValueTask.FromResult(false);

    public ValueTask<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default) => ValueTask.FromResult(0);

    public ValueTask<Uri> GetReadUrlAsync(string key, TimeSpan? lifetime = null, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(new Uri("/" + key, UriKind.Relative));
}
