namespace MediaGen;

/// <summary>
/// Produces media for the models it serves. Implementations are registered with the builder's
/// <c>AddXxxGenerator</c> methods; the worker picks the generator whose <see cref="Models"/> contains the job's model.
/// Models are priced per output (<see cref="ModelDescriptor.CostCredits"/>), and a generator reports results per output:
/// when some of a job's outputs fail and others succeed, it returns the ones it has and names the failed ones in
/// <see cref="GenerationResult.FailedOutputs"/> instead of failing the whole job.
/// </summary>
public interface IMediaGenerator
{
    /// <summary>A short, stable name for logs and metrics, such as <c>replicate</c>.</summary>
    string Name { get; }

    /// <summary>The models this generator serves.</summary>
    IReadOnlyList<ModelDescriptor> Models { get; }

    /// <summary>Runs one attempt of a job.</summary>
    /// <param name="context">The job, its model, the progress and checkpoint sinks, and the job-abort token.</param>
    /// <param name="cancellationToken">
    /// Signaled when this attempt must stop for any reason (timeout, shutdown, lost lease, cancel). Provider-side
    /// work should be left running unless <see cref="GenerationContext.JobAborted"/> is also signaled, so the next
    /// attempt can resume it from the checkpoint.
    /// </param>
    /// <returns>
    /// The outputs; the worker streams each into storage before the job counts as succeeded. Outputs that failed are named
    /// in <see cref="GenerationResult.FailedOutputs"/>: the job keeps the others and refunds their share. Outputs asked for
    /// and neither delivered nor named count as failed (<see cref="MediaGenErrorCodes.OutputMissing"/>), and are refunded too.
    /// </returns>
    /// <exception cref="GenerationException">A classified failure.</exception>
    ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default);
}

/// <summary>Everything a generator receives for one attempt.</summary>
public sealed class GenerationContext
{
    /// <summary>Creates a context.</summary>
    /// <param name="job">The job as it stands at the start of the attempt.</param>
    /// <param name="model">The model's descriptor.</param>
    /// <param name="progress">Where progress goes.</param>
    /// <param name="checkpoint">Where the provider handle is saved.</param>
    /// <param name="jobAborted">Signaled when the job itself is canceled or its deadline passes.</param>
    public GenerationContext(GenerationJob job, ModelDescriptor model, IProgress<GenerationProgress> progress, ICheckpointSink checkpoint, CancellationToken jobAborted)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(progress);
        ArgumentNullException.ThrowIfNull(checkpoint);
        Job = job;
        Model = model;
        Progress = progress;
        Checkpoint = checkpoint;
        JobAborted = jobAborted;
    }

    /// <summary>The job as it stands at the start of the attempt.</summary>
    public GenerationJob Job { get; }

    /// <summary>The request.</summary>
    public GenerationRequest Request => Job.Request;

    /// <summary>The model's descriptor.</summary>
    public ModelDescriptor Model { get; }

    /// <summary>The attempt number, from 1.</summary>
    public int Attempt => Job.Attempt;

    /// <summary>The checkpoint a previous attempt saved, if any: resume that provider-side work instead of starting new work.</summary>
    public string? ExistingCheckpoint => Job.Checkpoint;

    /// <summary>Where progress goes; reports are throttled before they reach the job's events.</summary>
    public IProgress<GenerationProgress> Progress { get; }

    /// <summary>Where the provider-side handle is saved before waiting on it.</summary>
    public ICheckpointSink Checkpoint { get; }

    /// <summary>
    /// Signaled when the job itself is over (canceled by its owner or past its deadline): provider-side work
    /// should be canceled too, so it is not paid for.
    /// </summary>
    public CancellationToken JobAborted { get; }
}

/// <summary>Progress of a running generation.</summary>
/// <param name="Fraction">From 0 to 1.</param>
/// <param name="Message">A short description, for example <c>step 12/28</c>; never the prompt.</param>
public readonly record struct GenerationProgress(double Fraction, string? Message = null);

/// <summary>Saves a generator's provider-side handle on the job, durably, before the generator waits on it.</summary>
public interface ICheckpointSink
{
    /// <summary>Persists <paramref name="checkpoint"/> on the job. Returns once it is durable.</summary>
    /// <param name="checkpoint">An opaque string the generator can resume from, such as a prediction id.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>A task that completes when the checkpoint is stored.</returns>
    ValueTask SaveAsync(string checkpoint, CancellationToken cancellationToken = default);
}

/// <summary>
/// The outputs of a successful attempt, and the outputs that failed in it. Each output a request asks for is priced on
/// its own (<see cref="ModelDescriptor.CostCredits"/>): the job succeeds with the outputs delivered and refunds the
/// share of those in <see cref="FailedOutputs"/>; when every output failed, the job fails and is refunded in full.
/// </summary>
/// <param name="Outputs">The outputs delivered, in index order.</param>
public sealed record GenerationResult(IReadOnlyList<GeneratedOutput> Outputs)
{
    /// <summary>Creates a result in which some outputs failed.</summary>
    /// <param name="outputs">The outputs delivered, in index order.</param>
    /// <param name="failedOutputs">
    /// The outputs that failed, by index. Together with <paramref name="outputs"/> they number the outputs from 0: the
    /// delivered outputs take, in order, the indexes not named here. Asked for outputs 0 to 3 with 1 and 3 failed,
    /// <paramref name="outputs"/> holds outputs 0 and 2.
    /// </param>
    /// <exception cref="ArgumentException">
    /// An index is negative, named twice, or not below the number of outputs and failures together; or a failure has no
    /// code or message.
    /// </exception>
    public GenerationResult(IReadOnlyList<GeneratedOutput> outputs, IReadOnlyList<OutputFailure> failedOutputs)
        : this(outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(failedOutputs);
        var total = outputs.Count + failedOutputs.Count;
        var seen = new HashSet<int>();
        foreach (var failure in failedOutputs)
        {
            ArgumentNullException.ThrowIfNull(failure, nameof(failedOutputs));
            if (string.IsNullOrWhiteSpace(failure.Code) || failure.Message is null)
            {
                throw new ArgumentException($"Failed output {failure.Index} needs a code and a message.", nameof(failedOutputs));
            }

            if (failure.Index < 0 || failure.Index >= total || !seen.Add(failure.Index))
            {
                throw new ArgumentException(
                    $"Failed output {failure.Index} is negative, named twice, or beyond the {total} outputs this result accounts for.", nameof(failedOutputs));
            }
        }

        FailedOutputs = failedOutputs;
    }

    /// <summary>The outputs that failed, by index; empty when every output was delivered.</summary>
    public IReadOnlyList<OutputFailure> FailedOutputs { get; } = [];

    /// <summary>The index of each delivered output, in the order of <see cref="Outputs"/>: the indexes not failed, in order.</summary>
    /// <returns>One index per output.</returns>
    public IReadOnlyList<int> GetOutputIndexes()
    {
        if (FailedOutputs.Count == 0)
        {
            return Enumerable.Range(0, Outputs.Count).ToArray();
        }

        var indexes = new int[Outputs.Count];
        var next = 0;
        for (var i = 0; i < indexes.Length; i++, next++)
        {
            while (IsFailed(next))
            {
                next++;
            }

            indexes[i] = next;
        }

        return indexes;
    }

    private bool IsFailed(int index)
    {
        foreach (var failure in FailedOutputs)
        {
            if (failure.Index == index)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>One output of a generation that could not be delivered; its share of the job's charge is refunded.</summary>
/// <param name="Index">The output's position among those the request asked for, from 0.</param>
/// <param name="Code">A stable, machine-readable code, such as <see cref="MediaGenErrorCodes.ContentFiltered"/>.</param>
/// <param name="Message">A human-readable description, including the provider's own error text where there is one.</param>
public sealed record OutputFailure(int Index, string Code, string Message);

/// <summary>
/// One output of a generation, read as a stream when the worker stores it, so large files (or files downloaded
/// from a provider URL) never need to be held in memory whole.
/// </summary>
public sealed class GeneratedOutput
{
    private readonly Func<CancellationToken, ValueTask<Stream>> _open;

    /// <summary>Creates an output read by <paramref name="open"/>.</summary>
    /// <param name="contentType">The MIME type.</param>
    /// <param name="open">Opens the content; the caller disposes the stream.</param>
    public GeneratedOutput(string contentType, Func<CancellationToken, ValueTask<Stream>> open)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(contentType);
        ArgumentNullException.ThrowIfNull(open);
        ContentType = contentType;
        _open = open;
    }

    /// <summary>Creates an output over bytes already in memory.</summary>
    /// <param name="contentType">The MIME type.</param>
    /// <param name="content">The bytes.</param>
    /// <returns>The output.</returns>
    public static GeneratedOutput FromBytes(string contentType, ReadOnlyMemory<byte> content) =>
        new(contentType, _ => ValueTask.FromResult<Stream>(new ReadOnlyMemoryStream(content))) { Length = content.Length };

    /// <summary>The MIME type.</summary>
    public string ContentType { get; }

    /// <summary>The length in bytes, when known in advance.</summary>
    public long? Length { get; init; }

    /// <summary>The width in pixels, when known.</summary>
    public int? Width { get; init; }

    /// <summary>The height in pixels, when known.</summary>
    public int? Height { get; init; }

    /// <summary>Opens the content for reading. The caller disposes the stream.</summary>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The content stream.</returns>
    public ValueTask<Stream> OpenReadAsync(CancellationToken cancellationToken = default) => _open(cancellationToken);

    private sealed class ReadOnlyMemoryStream(ReadOnlyMemory<byte> content) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => content.Length;

        public override long Position
        {
            get => _position;
            set => _position = (int)Math.Clamp(value, 0, content.Length);
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(buffer.Length, content.Length - _position);
            content.Span.Slice(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override long Seek(long offset, SeekOrigin origin)
        {
            Position = origin switch
            {
                SeekOrigin.Current => _position + offset,
                SeekOrigin.End => content.Length + offset,
                _ => offset,
            };
            return _position;
        }

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
