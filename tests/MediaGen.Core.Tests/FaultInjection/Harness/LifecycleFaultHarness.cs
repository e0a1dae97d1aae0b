using System.Text;
using MediaGen.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Xunit.Sdk;

namespace MediaGen.Core.Tests.FaultInjection;

/// <summary>The durable side of a fault-injection run: the backend's seams, which outlive every process.</summary>
/// <param name="Store">The job store.</param>
/// <param name="Ledger">The credit ledger.</param>
/// <param name="Queue">The queue.</param>
/// <param name="Events">The event stream.</param>
/// <param name="Atomic">The backend's atomic lifecycle store, or null for a composed (mixed) deployment.</param>
/// <param name="Owned">What to dispose after the run.</param>
public sealed record FaultBackend(IJobStore Store, ICreditLedger Ledger, IJobQueue Queue, IJobEventStream Events, IJobLifecycleStore? Atomic, params object[] Owned)
    : IAsyncDisposable
{
    /// <summary>The backend's webhook outbox; with <see cref="Atomic"/> each terminal step writes its delivery in the same step.</summary>
    public IWebhookOutbox? Outbox { get; init; }

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in Owned.Reverse())
        {
            if (owned is IAsyncDisposable asyncDisposable)
            {
                await asyncDisposable.DisposeAsync();
            }
            else if (owned is IDisposable disposable)
            {
                disposable.Dispose();
            }
        }
    }
}

/// <summary>
/// Runs jobs through MediaGen's real submission client, job processor and sweeper, one process at a time, over a
/// backend that survives them, crashing the current process where the <see cref="FaultPlan"/> says and starting a new
/// one; then recovers (lease expiry, redelivery, sweeps) and checks the invariants: every job ends, each job paid the
/// provider once (a second create only after a crash between create and checkpoint), credits are exact (charged per
/// output; a partial success refunds exactly its failed outputs' share, once) and every reservation settled, and no
/// output exists without its job.
/// </summary>
internal sealed class LifecycleFaultHarness
{
    public const long InitialBalance = 1_000;
    public const long CacheHitCredits = 3;
    public static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StalePendingAfter = TimeSpan.FromMinutes(2);
    private static readonly string[] Owners = ["alice", "bob"];
    private const int MaxSteps = 400;

    private readonly FaultBackend _backend;
    private readonly FakeTimeProvider _time;
    private readonly FaultPlan _plan;
    private readonly ProviderRecord _provider = new();
    private readonly MemoryMediaStorage _storage = new();
    private readonly InMemoryResultCacheIndex _cacheIndex;
    private Process? _process;
    private int _repeats;

    // What each job its owner deleted had cost its owner when it went: the ledger keeps the charge.
    private readonly Dictionary<string, (string Owner, long Spent)> _deleted = new(StringComparer.Ordinal);

    public LifecycleFaultHarness(FaultBackend backend, FakeTimeProvider time, FaultPlan plan)
    {
        _backend = backend;
        _time = time;
        _plan = plan;
        _cacheIndex = new InMemoryResultCacheIndex(time);
    }

    public FaultPlan Plan => _plan;

    public ProviderRecord Provider => _provider;

    /// <summary>Submits one job per behaviour, runs everything to the end through crashes, then checks the invariants.</summary>
    public async Task RunAsync(IReadOnlyList<JobBehaviour> jobs)
    {
        var accepted = new List<string>();
        for (var i = 0; i < jobs.Count; i++)
        {
            await SubmitAsync(jobs[i], i, accepted);
        }

        await CancelPendingAsync(accepted);
        await ProcessUntilQuietAsync();
        await DeleteAsync(jobs);

        // The same seeded work again, now that the first ones are done: served from the result cache.
        var repeats = jobs.Select((behaviour, i) => (behaviour, i)).Where(j => j.behaviour == JobBehaviour.CacheHit).ToList();
        if (repeats.Count > 0)
        {
            // Another owner asks, where there are two: an entry serves whoever asks for the same work.
            _repeats = repeats.Count;
            foreach (var (behaviour, i) in repeats)
            {
                await SubmitAsync(behaviour, i + 1, accepted);
            }

            await ProcessUntilQuietAsync();
        }

        await CheckInvariantsAsync(accepted);
    }

    /// <summary>The owner's side: cancels each accepted job meant to be canceled while it waits, again after a crash.</summary>
    private async Task CancelPendingAsync(List<string> accepted)
    {
        foreach (var id in accepted)
        {
            if (await _backend.Store.GetAsync(id) is not { Request.Prompt: nameof(JobBehaviour.CanceledWhilePending) } job)
            {
                continue;
            }

            await AsOwnerAsync(client => client.CancelAsync(job.OwnerId, job.Id).AsTask());
        }
    }

    /// <summary>The owner's side: deletes each finished job meant to be deleted, again after a crash, until it is gone.</summary>
    private async Task DeleteAsync(IReadOnlyList<JobBehaviour> behaviours)
    {
        if (!behaviours.Contains(JobBehaviour.Deleted))
        {
            return;
        }

        foreach (var job in await AllJobsAsync())
        {
            if (job.Request.Prompt != nameof(JobBehaviour.Deleted) || !job.Status.IsTerminal())
            {
                continue;
            }

            await AsOwnerAsync(async client =>
            {
                try
                {
                    await client.DeleteAsync(job.OwnerId, job.Id);
                }
                catch (JobNotFoundException)
                {
                    // An earlier try deleted the job and died after.
                }
            });
            _deleted[job.Id] = (job.OwnerId, job.CreditsCharged - job.CreditsRefunded);
        }

        await ProcessUntilQuietAsync();
    }

    /// <summary>What an owner asks of the API, asked again of a new process when the one serving it dies, until it goes through.</summary>
    private async Task AsOwnerAsync(Func<IMediaGenerationClient, Task> request)
    {
        for (var tries = 0; ; tries++)
        {
            var process = await CurrentAsync();
            try
            {
                await request(process.Client);
                return;
            }
            catch (Exception) when (_plan.Crashed && tries < 5)
            {
                // The API process died mid-request; the owner asks again.
            }
        }
    }

    private async Task SubmitAsync(JobBehaviour behaviour, int index, List<string> accepted)
    {
        var process = await CurrentAsync();
        try
        {
            var result = await process.Client.SubmitAsync(new GenerationRequest
            {
                Prompt = behaviour.ToString(),
                Model = CountingGenerator.ModelId,
                OwnerId = Owners[index % Owners.Length],
                Settings = new GenerationSettings { OutputCount = 2, Seed = behaviour == JobBehaviour.CacheHit ? 7 : null },
                UseResultCache = behaviour == JobBehaviour.CacheHit ? true : null,
                WebhookUrl = new Uri("https://hooks.example.com/jobs"),
            });
            accepted.Add(result.Job.Id);
        }
        catch (Exception) when (_plan.Crashed)
        {
            // The submitter died: the caller never heard back, whatever the backend kept.
        }
    }

    private async Task ProcessUntilQuietAsync()
    {
        var idle = 0;
        for (var step = 0; step < MaxSteps; step++)
        {
            var process = await CurrentAsync();
            IReadOnlyList<IQueueLease> leases;
            try
            {
                leases = await process.Queue.ReceiveAsync(8, TimeSpan.Zero);
            }
            catch (Exception) when (_plan.Crashed)
            {
                continue;
            }

            if (await RetryFailedAsync(process))
            {
                idle = 0;
                continue;
            }

            if (leases.Count > 0)
            {
                idle = 0;
                foreach (var lease in leases)
                {
                    if (_plan.Crashed || process.Stopping.IsCancellationRequested)
                    {
                        break; // The rest of a dead or stopped process's leases lapse on their own.
                    }

                    await process.Processor.ProcessAsync(lease, process.Stopping.Token);
                }

                continue;
            }

            if (await AllFinishedAsync() && idle > 0)
            {
                // One more sweep settles anything a crash left open, then we are done.
                _time.Advance(StalePendingAfter + TimeSpan.FromSeconds(1));
                await SweepAsync(process);
                if (!_plan.Crashed && (await _backend.Queue.ReceiveAsync(1, TimeSpan.Zero)) is { Count: 0 })
                {
                    return;
                }

                continue;
            }

            // Nothing ready: let leases of dead processes lapse and retries come due; every few rounds, sweep.
            idle++;
            _time.Advance(LeaseDuration + TimeSpan.FromSeconds(1));
            if (idle % 4 == 0)
            {
                _time.Advance(StalePendingAfter);
                await SweepAsync(process);
            }
        }

        throw new XunitException($"The run did not settle within {MaxSteps} steps.{Describe()}");
    }

    /// <summary>The owner's side: retries each job meant to be retried that failed in its first run. Returns whether one was.</summary>
    private async Task<bool> RetryFailedAsync(Process process)
    {
        var retried = false;
        foreach (var job in await AllJobsAsync())
        {
            if (_plan.Crashed)
            {
                break;
            }

            if (job is { Status: JobStatus.Failed, Run: 1 } && Enum.Parse<JobBehaviour>(job.Request.Prompt) == JobBehaviour.RetriedAfterPermanent)
            {
                try
                {
                    await process.Client.RetryAsync(job.OwnerId, job.Id);
                    retried = true;
                }
                catch (Exception) when (_plan.Crashed)
                {
                    // The API process died mid-retry; the owner retries again, or the sweeper settles what it left.
                }
            }
        }

        return retried;
    }

    private async Task SweepAsync(Process process)
    {
        try
        {
            await process.Sweeper.SweepAsync(CancellationToken.None);
        }
        catch (Exception) when (_plan.Crashed)
        {
            // The sweeping process died; the next one sweeps again.
        }
    }

    private async Task<bool> AllFinishedAsync()
    {
        foreach (var job in await AllJobsAsync())
        {
            if (!job.Status.IsTerminal() || job is { Status: JobStatus.Failed, Run: 1, Request.Prompt: nameof(JobBehaviour.RetriedAfterPermanent) })
            {
                return false;
            }
        }

        return true;
    }

    private async Task<List<GenerationJob>> AllJobsAsync()
    {
        var jobs = new List<GenerationJob>();
        foreach (var owner in Owners)
        {
            jobs.AddRange((await _backend.Store.ListAsync(new JobQuery { OwnerId = owner, Limit = JobQuery.MaxLimit })).Items);
        }

        return jobs;
    }

    private async Task CheckInvariantsAsync(List<string> accepted)
    {
        var jobs = await AllJobsAsync();
        var failures = new StringBuilder();
        foreach (var job in jobs.Where(j => _deleted.ContainsKey(j.Id) || j.Request.Prompt == nameof(JobBehaviour.Deleted)))
        {
            failures.AppendLine($"job {job.Id} was to be deleted, and is still stored");
        }

        foreach (var id in accepted.Where(id => !_deleted.ContainsKey(id) && jobs.All(j => j.Id != id)))
        {
            failures.AppendLine($"accepted job {id} is missing from the store");
        }

        foreach (var job in jobs)
        {
            if (!job.Status.IsTerminal())
            {
                failures.AppendLine($"job {job.Id} ({job.Request.Prompt}) ended {job.Status}");
            }

            // Priced per output: two outputs at the model's cost each; a success refunds the failed outputs' share. A job
            // served from the result cache is charged the cache-hit price, and never reaches the provider.
            if (job.CacheHit)
            {
                if (job.CreditsCharged != CacheHitCredits || job.Status != JobStatus.Succeeded || _provider.Creates(job.Id) != 0)
                {
                    failures.AppendLine($"cache hit {job.Id} is {job.Status}, charged {job.CreditsCharged} (the price is {CacheHitCredits}), with {_provider.Creates(job.Id)} provider create(s)");
                }
            }
            else if (job.CreditsCharged != 2 * CountingGenerator.Cost)
            {
                failures.AppendLine($"job {job.Id} was charged {job.CreditsCharged} for two outputs at {CountingGenerator.Cost}");
            }

            var expectedRefund = job.Status == JobStatus.Succeeded ? job.CreditsCharged * job.FailedOutputs.Count / 2 : job.CreditsCharged;
            if (job.Status.IsTerminal() && job.CreditsRefunded != expectedRefund)
            {
                failures.AppendLine($"job {job.Id} ({job.Status}, {job.FailedOutputs.Count} output(s) failed) refunded {job.CreditsRefunded} of {job.CreditsCharged}");
            }

            var behaviour = Enum.Parse<JobBehaviour>(job.Request.Prompt);
            if (behaviour == JobBehaviour.EveryOutputFailed && job.Status == JobStatus.Succeeded)
            {
                failures.AppendLine($"job {job.Id} succeeded though every output failed");
            }

            // A graceful shutdown hands the attempt back uncounted, and the next process resumes the provider's work.
            if (behaviour == JobBehaviour.ShutdownMidRun && _plan.Crashes == 0 && (job.Status, job.Attempt, _provider.Creates(job.Id)) != (JobStatus.Succeeded, 1, 1))
            {
                failures.AppendLine($"job {job.Id} was handed back on shutdown, and ended {job.Status} at attempt {job.Attempt} with {_provider.Creates(job.Id)} provider create(s)");
            }

            // A job canceled while it waited never reaches the provider, and gets all its credits back.
            if (behaviour == JobBehaviour.CanceledWhilePending && _plan.Crashes == 0
                && (job.Status, job.CreditsRefunded, _provider.Creates(job.Id)) != (JobStatus.Canceled, job.CreditsCharged, 0))
            {
                failures.AppendLine($"job {job.Id} was canceled while it waited, and ended {job.Status}, refunded {job.CreditsRefunded} of {job.CreditsCharged}, with {_provider.Creates(job.Id)} provider create(s)");
            }

            // A rate limit pauses the provider and costs the attempt, not the job: the next attempt creates the one prediction.
            if (behaviour == JobBehaviour.RateLimited && _plan.Crashes == 0 && (job.Status, job.Attempt, _provider.Creates(job.Id)) != (JobStatus.Succeeded, 2, 1))
            {
                failures.AppendLine($"job {job.Id} was rate limited once, and ended {job.Status} at attempt {job.Attempt} with {_provider.Creates(job.Id)} provider create(s)");
            }

            if (behaviour == JobBehaviour.RetriedAfterPermanent && (job.Status, job.Run) != (JobStatus.Succeeded, 2))
            {
                failures.AppendLine($"job {job.Id} was to be retried once and succeed, but ended {job.Status} in run {job.Run}");
            }

            // One paid prediction per run: a retry after a permanent failure starts the provider's work afresh.
            if (_provider.RecordedPredictions(job.Id) > job.Run)
            {
                failures.AppendLine($"job {job.Id} paid the provider for {_provider.RecordedPredictions(job.Id)} predictions it recorded in {job.Run} run(s)");
            }

            if (job.Status == JobStatus.Succeeded)
            {
                foreach (var output in job.Outputs.Where(o => !_storage.Objects.ContainsKey(o.Key)))
                {
                    failures.AppendLine($"job {job.Id} lists output {output.Key}, which is not stored");
                }

                int[] delivered = behaviour == JobBehaviour.PartialFailure ? [0] : [0, 1];
                if (!job.Outputs.Select(o => o.Index).SequenceEqual(delivered) || job.FailedOutputs.Count != 2 - delivered.Length)
                {
                    failures.AppendLine($"job {job.Id} ({behaviour}) succeeded with outputs [{string.Join(",", job.Outputs.Select(o => o.Index))}] and {job.FailedOutputs.Count} failed");
                }
            }
        }

        // Without a crash every repeat is served from the cache; a crash may have cost the first job its record.
        if (_plan.Crashes == 0 && jobs.Count(j => j.CacheHit) != _repeats)
        {
            failures.AppendLine($"{jobs.Count(j => j.CacheHit)} of {_repeats} repeated request(s) were served from the result cache, with no crash");
        }

        if (_provider.Orphans > _plan.Crashes)
        {
            failures.AppendLine($"{_provider.Orphans} provider creates were never recorded, with only {_plan.Crashes} crash(es)");
        }

        foreach (var key in _storage.Objects.Keys.Where(k => jobs.All(j => !k.StartsWith(j.Id + "/", StringComparison.Ordinal))))
        {
            failures.AppendLine($"output {key} has no job");
        }

        foreach (var owner in Owners)
        {
            var spent = jobs.Where(j => j.OwnerId == owner).Sum(j => j.CreditsCharged - j.CreditsRefunded)
                + _deleted.Values.Where(d => d.Owner == owner).Sum(d => d.Spent);
            var balance = await _backend.Ledger.GetBalanceAsync(owner);
            if (balance != InitialBalance - spent)
            {
                failures.AppendLine($"{owner}'s balance is {balance}; the jobs say {InitialBalance - spent}");
            }
        }

        if (_backend is { Outbox: { } outbox, Atomic: not null })
        {
            // The terminal webhook is written in the step that ends the job: every finished run has its one delivery.
            foreach (var job in jobs.Where(j => j.Status.IsTerminal()))
            {
                var finished = job.Run == 2 ? new[] { (1, "failed"), (2, job.Status.ToString().ToLowerInvariant()) } : [(job.Run, job.Status.ToString().ToLowerInvariant())];
                foreach (var (run, status) in finished)
                {
                    if (await outbox.GetAsync($"{job.Id}.{run}.{status}") is not { Status: WebhookDeliveryStatus.Waiting, Attempts: 0 })
                    {
                        failures.AppendLine($"job {job.Id} finished run {run} {status} without its webhook delivery in the outbox");
                    }
                }
            }
        }

        var open = await _backend.Ledger.ListOpenReservationsAsync(_time.GetUtcNow().AddYears(1), 100);
        foreach (var reservation in open)
        {
            failures.AppendLine($"reservation of job {reservation.JobId} was never settled");
        }

        if (failures.Length > 0)
        {
            throw new XunitException(failures + Describe());
        }
    }

    private string Describe() =>
        $"{Environment.NewLine}Crashes: {_plan.Crashes}. Effects: {string.Join(", ", _plan.Trace.Select((t, i) => $"{i}:{t}"))}";

    private async Task<Process> CurrentAsync()
    {
        if (_process is not null && !_plan.Crashed && !_process.Stopping.IsCancellationRequested)
        {
            return _process;
        }

        if (_process is not null)
        {
            await _process.Services.DisposeAsync();
            _process.Stopping.Dispose();
            _plan.Restart();
        }

        _process = await StartProcessAsync();
        return _process;
    }

    private async Task<Process> StartProcessAsync()
    {
        var faults = new FaultySeams(_plan, _plan.Generation);
        var stopping = new CancellationTokenSource();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddLogging();
        IMediaGenerationClient? client = null;
        var builder = services
            .AddMediaGeneration(o =>
            {
                o.MaxAttempts = 3;
                o.JobDeadline = TimeSpan.FromDays(1);
            })
            .ConfigureCredits(o => o.InitialBalance = InitialBalance)
            .UseQueue(_ => new FaultyJobQueue(_backend.Queue, faults))
            .UseJobStore(_ => new FaultyJobStore(_backend.Store, faults))
            .UseCreditLedger(_ => new FaultyCreditLedger(_backend.Ledger, faults))
            .UseEventStream(_ => new FaultyEventStream(_backend.Events, faults))
            .UseStorage(_ => new FaultyStorage(_storage, faults))
            .UseResultCacheIndex(_ => new FaultyResultCacheIndex(_cacheIndex, faults))
            .ConfigureResultCache(o => o.CacheHitCredits = CacheHitCredits)
            .AddGenerator(new CountingGenerator(_provider, faults, () => client!, stopping))
            .AddWorker(o =>
            {
                o.SweepInterval = TimeSpan.Zero;
                o.StalePendingAfter = StalePendingAfter;
                o.MaxDeliveryCount = 50;
                o.Retry.Delay = TimeSpan.FromSeconds(2);
                o.Retry.UseJitter = false;
            });
        if (_backend.Outbox is { } webhookOutbox)
        {
            builder.UseWebhookOutbox(_ => webhookOutbox);
        }

        if (_backend.Atomic is { } atomic)
        {
            builder.AddLifecycleStore(_ => new FaultyLifecycleStore(atomic, faults));
        }

        var provider = services.BuildServiceProvider();
        client = provider.GetRequiredService<IMediaGenerationClient>();

        // The cancel listener runs as it does in a worker process: a cancel asked for while the job runs reaches it at once.
        await provider.GetServices<IHostedService>().OfType<JobCancelListener>().Single().StartAsync(CancellationToken.None);
        return new Process(
            provider,
            client,
            provider.GetRequiredService<IJobQueue>(),
            provider.GetRequiredService<JobProcessor>(),
            provider.GetServices<IHostedService>().OfType<PendingJobSweeper>().Single(),
            stopping);
    }

    /// <param name="Stopping">Canceled when the process shuts down gracefully (its host's stopping token).</param>
    private sealed record Process(ServiceProvider Services, IMediaGenerationClient Client, IJobQueue Queue, JobProcessor Processor, PendingJobSweeper Sweeper, CancellationTokenSource Stopping);
}
