namespace MediaGen.TestSupport;

/// <summary>A checkpoint sink that records what a generator saves, and can fail or react on a save.</summary>
public sealed class RecordingCheckpointSink : ICheckpointSink
{
    /// <summary>The checkpoints saved, in order.</summary>
    public ConcurrentQueue<string> Saved { get; } = new();

    /// <summary>Runs when a checkpoint is saved, after it is recorded.</summary>
    public Action<string>? OnSaved { get; set; }

    /// <summary>When set, saving fails with this exception instead (only the checkpoints <see cref="FailWhen"/> picks, when set).</summary>
    public Exception? Failure { get; set; }

    /// <summary>Which checkpoints fail with <see cref="Failure"/>; null fails every one.</summary>
    public Func<string, bool>? FailWhen { get; set; }

    /// <inheritdoc />
    public ValueTask SaveAsync(string checkpoint, CancellationToken cancellationToken = default)
    {
        if (Failure is not null && (FailWhen is null || FailWhen(checkpoint)))
        {
            return ValueTask.FromException(Failure);
        }

        Saved.Enqueue(checkpoint);
        OnSaved?.Invoke(checkpoint);
        return ValueTask.CompletedTask;
    }
}

/// <summary>A progress sink that records what a generator reports.</summary>
public sealed class RecordingProgress : IProgress<GenerationProgress>
{
    /// <summary>The reports, in order.</summary>
    public ConcurrentQueue<GenerationProgress> Reports { get; } = new();

    /// <summary>Runs on each report, after it is recorded.</summary>
    public Action<GenerationProgress>? OnReport { get; set; }

    /// <inheritdoc />
    public void Report(GenerationProgress value)
    {
        Reports.Enqueue(value);
        OnReport?.Invoke(value);
    }
}

/// <summary>Reads what generators return.</summary>
public static class GeneratedOutputs
{
    /// <summary>Reads an output's content to its end.</summary>
    /// <param name="output">The output.</param>
    /// <returns>The bytes.</returns>
    public static async Task<byte[]> ReadAllAsync(GeneratedOutput output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var stream = await output.OpenReadAsync();
        await using (stream)
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            return copy.ToArray();
        }
    }
}
