namespace MediaGen.TestSupport;

/// <summary>Builds what the worker hands a generator for one call: the running job and its context.</summary>
public static class GeneratorCalls
{
    /// <summary>A job in its first attempt, as the worker holds it while the generator runs.</summary>
    /// <param name="prompt">The prompt.</param>
    /// <param name="model">The model id.</param>
    /// <param name="createdAt">When the job was created.</param>
    /// <param name="settings">The settings; the defaults when null.</param>
    /// <param name="parameters">Model-specific values.</param>
    /// <param name="checkpoint">The provider checkpoint a redelivered job carries.</param>
    /// <param name="attempt">The attempt.</param>
    /// <param name="deadline">The job's deadline.</param>
    /// <returns>The job, Processing, owned by <c>owner-1</c>.</returns>
    public static GenerationJob Job(
        string prompt,
        string model,
        DateTimeOffset createdAt,
        GenerationSettings? settings = null,
        IReadOnlyDictionary<string, JsonElement>? parameters = null,
        string? checkpoint = null,
        int attempt = 1,
        DateTimeOffset? deadline = null) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        Request = new GenerationRequest
        {
            Prompt = prompt,
            Model = model,
            OwnerId = "owner-1",
            Settings = settings ?? GenerationSettings.Default,
            Parameters = parameters,
        },
        Status = JobStatus.Processing,
        Attempt = attempt,
        CreatedAt = createdAt,
        Checkpoint = checkpoint,
        Deadline = deadline,
    };

    /// <summary>The context of a call on <paramref name="job"/>, with the generator's descriptor of the job's model.</summary>
    /// <param name="generator">The generator.</param>
    /// <param name="job">The job.</param>
    /// <param name="checkpoint">Records saved checkpoints; a new one when null.</param>
    /// <param name="progress">Records progress; a new one when null.</param>
    /// <param name="jobAborted">Signals that the job is over.</param>
    /// <returns>The context.</returns>
    public static GenerationContext Context(
        IMediaGenerator generator,
        GenerationJob job,
        RecordingCheckpointSink? checkpoint = null,
        RecordingProgress? progress = null,
        CancellationToken jobAborted = default)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(job);
        return new(job, generator.Models.Single(m => m.Id == job.Request.Model), progress ?? new RecordingProgress(), checkpoint ?? new RecordingCheckpointSink(), jobAborted);
    }
}
