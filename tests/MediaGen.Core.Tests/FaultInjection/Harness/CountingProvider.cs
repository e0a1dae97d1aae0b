using System.Collections.Concurrent;
using System.Text;

namespace MediaGen.Core.Tests.FaultInjection;

/// <summary>What a fault-injection job's generation does.</summary>
public enum JobBehaviour
{
    /// <summary>Creates a prediction, saves its checkpoint, and returns two outputs.</summary>
    Succeed,

    /// <summary>As <see cref="Succeed"/>, but the first attempt fails with a transient error after the checkpoint.</summary>
    TransientThenSucceed,

    /// <summary>Creates a prediction, saves its checkpoint, then fails with a permanent error.</summary>
    Permanent,

    /// <summary>Creates a prediction, saves its checkpoint, then its owner cancels the job from the API.</summary>
    Cancel,

    /// <summary>As <see cref="Succeed"/>, but output 1 of the two fails: the job succeeds with output 0 and refunds half.</summary>
    PartialFailure,

    /// <summary>As <see cref="Succeed"/>, but both outputs fail: the job fails and is refunded in full.</summary>
    EveryOutputFailed,

    /// <summary>
    /// As <see cref="Permanent"/> in its first run; its owner then retries it, and the second run (a new prediction,
    /// charged again) succeeds.
    /// </summary>
    RetriedAfterPermanent,

    /// <summary>
    /// A seeded request with the result cache on. Submitted once in the first round and generated as <see cref="Succeed"/>;
    /// submitted again once the first rounds are over, and then served from the cache (its outputs copied, charged the
    /// cache-hit price, no provider call), or generated like the first when no copy can be made.
    /// </summary>
    CacheHit,

    /// <summary>As <see cref="Succeed"/>; once it has finished, its owner deletes it, and deletes it again after a crash until it is gone.</summary>
    Deleted,

    /// <summary>
    /// Creates a prediction and saves its checkpoint; then its worker process shuts down gracefully, so the job goes back
    /// to the queue. The next process resumes the prediction from the checkpoint and succeeds.
    /// </summary>
    ShutdownMidRun,

    /// <summary>
    /// Its first attempt is refused by the provider with a rate limit (429, retry after 10 s) before anything is created:
    /// the provider is paused, other jobs of the provider are handed back for the pause, and a later attempt succeeds.
    /// </summary>
    RateLimited,

    /// <summary>Its owner cancels it as soon as it is accepted, before a worker takes it (and again after a crash); run anyway, as <see cref="Succeed"/>.</summary>
    CanceledWhilePending,
}

/// <summary>
/// The provider side of a fault-injection run, shared by every process: which predictions were created for which job,
/// and which of them a job's checkpoint ever recorded. A prediction created but never recorded is an orphan: only a
/// crash between the create and the checkpoint may leave one.
/// </summary>
public sealed class ProviderRecord
{
    private readonly ConcurrentDictionary<string, ConcurrentBag<string>> _created = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, bool>> _recorded = new(StringComparer.Ordinal);
    private int _sequence;

    public string Create(string jobId)
    {
        var id = $"pred-{Interlocked.Increment(ref _sequence)}";
        _created.GetOrAdd(jobId, _ => []).Add(id);
        return id;
    }

    public void Recorded(string jobId, string predictionId) => _recorded.GetOrAdd(jobId, _ => new(StringComparer.Ordinal))[predictionId] = true;

    public int Creates(string jobId) => _created.TryGetValue(jobId, out var ids) ? ids.Count : 0;

    public int RecordedPredictions(string jobId) => _recorded.TryGetValue(jobId, out var ids) ? ids.Count : 0;

    public int Orphans => _created.Sum(c => c.Value.Count(id => !_recorded.TryGetValue(c.Key, out var r) || !r.ContainsKey(id)));

    public IEnumerable<string> Jobs => _created.Keys;
}

/// <summary>
/// A generator with a provider behind it that bills per create: it creates a prediction unless the job's checkpoint
/// names one, saves the prediction id through the checkpoint sink before it "waits", then behaves as the prompt says.
/// Its creates are effects of the fault plan, so a process can crash right after paying the provider. Shutting its
/// process down (<see cref="JobBehaviour.ShutdownMidRun"/>) cancels <paramref name="stopping"/>, as a host's stop does.
/// </summary>
internal sealed class CountingGenerator(ProviderRecord provider, FaultySeams faults, Func<IMediaGenerationClient> client, CancellationTokenSource stopping) : IMediaGenerator
{
    public const string ModelId = "counting-model";
    public const long Cost = 10;

    public string Name => "counting";

    public IReadOnlyList<ModelDescriptor> Models { get; } = [new ModelDescriptor { Id = ModelId, CostCredits = Cost }];

    public async ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default)
    {
        var job = context.Job;
        var behaviour = Enum.Parse<JobBehaviour>(job.Request.Prompt);
        if (behaviour == JobBehaviour.RateLimited && job.Attempt == 1)
        {
            throw GenerationException.RateLimited("The provider answered 429.", TimeSpan.FromSeconds(10));
        }

        if (job.Checkpoint is null)
        {
            var prediction = await faults.Effect("provider.create", () => ValueTask.FromResult(provider.Create(job.Id)));
            await context.Checkpoint.SaveAsync(prediction, cancellationToken);
            provider.Recorded(job.Id, prediction);
            if (behaviour == JobBehaviour.ShutdownMidRun)
            {
                // The host stops while the provider works: the attempt's token is canceled, and the generator gives up.
                await stopping.CancelAsync();
                throw new OperationCanceledException(stopping.Token);
            }
        }

        switch (behaviour)
        {
            case JobBehaviour.TransientThenSucceed when job.Attempt == 1:
                throw new GenerationException(MediaGenErrorCodes.GeneratorTransient, "The provider timed out.", isTransient: true);
            case JobBehaviour.Permanent:
            case JobBehaviour.RetriedAfterPermanent when job.Run == 1:
                throw new GenerationException(MediaGenErrorCodes.GeneratorPermanent, "The provider refused the prompt.", isTransient: false);
            case JobBehaviour.Cancel:
                // The owner cancels from the API while the provider works; the worker hears it through its cancel signal.
                await client().CancelAsync(job.OwnerId, job.Id, CancellationToken.None);
                faults.Read(0);
                await Task.Delay(TimeSpan.FromSeconds(10), context.JobAborted);
                throw new InvalidOperationException("The cancel never reached the running attempt.");
        }

        var failed = behaviour switch
        {
            JobBehaviour.PartialFailure => new[] { 1 },
            JobBehaviour.EveryOutputFailed => [0, 1],
            _ => [],
        };
        var outputs = Enumerable.Range(0, 2)
            .Where(i => !failed.Contains(i))
            .Select(i => GeneratedOutput.FromBytes("image/png", Encoding.UTF8.GetBytes($"{job.Id}/{i}")))
            .ToArray();
        return new GenerationResult(outputs, failed.Select(i => new OutputFailure(i, MediaGenErrorCodes.GeneratorPermanent, $"Output {i} was lost.")).ToArray());
    }
}
