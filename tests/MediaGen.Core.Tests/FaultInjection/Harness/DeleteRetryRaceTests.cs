using System.Collections.Concurrent;
using MediaGen.Internal;
using MediaGen.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace MediaGen.Core.Tests.FaultInjection;

/// <summary>
/// An owner's delete of a finished job racing the same owner's retry of it (another request), on a backend: whichever
/// lands first wins whole. A retry that arrives once the delete has begun is refused and charges nothing, and the job
/// goes; a retry that got in first refuses the delete, and its run keeps its outputs and its charge; a delete cut short
/// leaves a job that cannot be retried and that the next delete removes. Each backend's test project derives a class
/// that says how to make a fresh backend.
/// </summary>
public abstract class DeleteRetryRaceTests
{
    private const long InitialBalance = 100;
    private const string Owner = "alice";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    /// <summary>Makes a fresh, isolated backend on <paramref name="time"/>.</summary>
    protected abstract ValueTask<FaultBackend> CreateBackendAsync(FakeTimeProvider time, long initialBalance);

    [ComplianceFact]
    public async Task Delete_RetryArrivingAfterTheDeleteBegan_IsRefusedAndTheJobGoesWithNothingCharged()
    {
        await using var app = await StartAsync();
        var failed = await app.FailedJobAsync();

        // Past its status check, while it deletes the outputs, the owner's retry arrives from another request.
        Exception? retry = null;
        app.Storage.BeforeDeletePrefix = async () =>
        {
            app.Storage.BeforeDeletePrefix = null;
            retry = await Record.ExceptionAsync(() => app.RetryAndRunAsync(failed.Id));
        };

        await app.Client.DeleteAsync(Owner, failed.Id);

        var refused = Assert.IsType<InvalidJobTransitionException>(retry);
        Assert.Contains("being deleted", refused.Message, StringComparison.Ordinal);
        Assert.Null(await app.Backend.Store.GetAsync(failed.Id));
        Assert.Empty(app.Storage.Objects);
        Assert.Equal(InitialBalance, await app.Backend.Ledger.GetBalanceAsync(Owner));
        Assert.Empty(await app.Backend.Ledger.ListOpenReservationsAsync(_time.GetUtcNow().AddYears(1), 10));
        Assert.Empty(await app.Backend.Queue.ReceiveAsync(1, TimeSpan.Zero));
    }

    [ComplianceFact]
    public async Task Delete_RetryThatGotInFirstAndRanToSuccess_RefusesTheDeleteAndTheRunKeepsItsOutputsAndCharge()
    {
        await using var app = await StartAsync();
        var failed = await app.FailedJobAsync();

        // Right after the delete read the job (Failed, run 1), the owner's retry lands and a worker runs it to success.
        app.Store.AfterGet = () => app.RetryAndRunAsync(failed.Id);

        var refused = await Assert.ThrowsAsync<InvalidJobTransitionException>(() => app.Client.DeleteAsync(Owner, failed.Id).AsTask());

        Assert.Equal(JobStatus.Succeeded, refused.From);
        Assert.Contains("changed while it was being deleted", refused.Message, StringComparison.Ordinal);
        var job = await app.Backend.Store.GetAsync(failed.Id);
        Assert.NotNull(job);
        Assert.Equal((JobStatus.Succeeded, 2, false), (job.Status, job.Run, job.DeleteRequested));
        Assert.NotEmpty(job.Outputs);
        Assert.All(job.Outputs, o => Assert.True(app.Storage.Objects.ContainsKey(o.Key), $"output {o.Key} of the new run was deleted"));
        Assert.Equal(InitialBalance - job.CreditsCharged, await app.Backend.Ledger.GetBalanceAsync(Owner));
        Assert.True(job.CreditsCharged > 0);
        Assert.Empty(await app.Backend.Ledger.ListOpenReservationsAsync(_time.GetUtcNow().AddYears(1), 10));

        // The owner, now seeing what the job became, deletes it: the run it paid for goes, and the charge stays spent.
        await app.Client.DeleteAsync(Owner, failed.Id);
        Assert.Null(await app.Backend.Store.GetAsync(failed.Id));
        Assert.Empty(app.Storage.Objects);
        Assert.Equal(InitialBalance - job.CreditsCharged, await app.Backend.Ledger.GetBalanceAsync(Owner));
    }

    [ComplianceFact]
    public async Task Delete_CutShortAfterItBegan_LeavesAJobThatCannotBeRetriedAndTheNextDeleteRemoves()
    {
        await using var app = await StartAsync();
        var failed = await app.FailedJobAsync();
        app.Storage.BeforeDeletePrefix = () =>
        {
            app.Storage.BeforeDeletePrefix = null;
            throw new StorageUnavailableException("The storage could not be reached.");
        };

        await Assert.ThrowsAsync<StorageUnavailableException>(() => app.Client.DeleteAsync(Owner, failed.Id).AsTask());

        var marked = await app.Backend.Store.GetAsync(failed.Id);
        Assert.NotNull(marked);
        Assert.Equal((JobStatus.Failed, 1, true), (marked.Status, marked.Run, marked.DeleteRequested));
        var refused = await Assert.ThrowsAsync<InvalidJobTransitionException>(() => app.Client.RetryAsync(Owner, failed.Id).AsTask());
        Assert.Equal(JobStatus.Failed, refused.From);
        Assert.Equal(InitialBalance, await app.Backend.Ledger.GetBalanceAsync(Owner));
        Assert.Empty(await app.Backend.Queue.ReceiveAsync(1, TimeSpan.Zero));

        await app.Client.DeleteAsync(Owner, failed.Id);

        Assert.Null(await app.Backend.Store.GetAsync(failed.Id));
        Assert.Equal(InitialBalance, await app.Backend.Ledger.GetBalanceAsync(Owner));
        Assert.Empty(await app.Backend.Ledger.ListOpenReservationsAsync(_time.GetUtcNow().AddYears(1), 10));
    }

    private async Task<App> StartAsync()
    {
        var backend = await CreateBackendAsync(_time, InitialBalance);
        var store = new HookedJobStore(backend.Store);
        var storage = new HookedStorage();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddLogging();
        var builder = services.AddMediaGeneration()
            .ConfigureCredits(o => o.InitialBalance = InitialBalance)
            .UseQueue(_ => backend.Queue)
            .UseJobStore(_ => store)
            .UseCreditLedger(_ => backend.Ledger)
            .UseEventStream(_ => backend.Events)
            .UseStorage(_ => storage)
            .AddProceduralGenerator(o => o.SimulatedDuration = TimeSpan.Zero)
            .AddWorker(o => o.SweepInterval = TimeSpan.Zero);
        if (backend.Atomic is { } atomic)
        {
            builder.AddLifecycleStore(_ => atomic);
        }

        return new App(backend, store, storage, services.BuildServiceProvider());
    }

    private sealed class App(FaultBackend backend, HookedJobStore store, HookedStorage storage, ServiceProvider services) : IAsyncDisposable
    {
        public FaultBackend Backend => backend;

        public HookedJobStore Store => store;

        public HookedStorage Storage => storage;

        public IMediaGenerationClient Client { get; } = services.GetRequiredService<IMediaGenerationClient>();

        /// <summary>A job that failed for good in its first run, refunded: it cost its owner nothing.</summary>
        public async Task<GenerationJob> FailedJobAsync()
        {
            var submitted = await Client.SubmitAsync(new GenerationRequest { Prompt = "a lighthouse", Model = "procedural", OwnerId = Owner });
            var lease = Assert.Single(await backend.Queue.ReceiveAsync(1, TimeSpan.Zero));
            var failed = await services.GetRequiredService<JobLifecycle>().FailAsync(
                submitted.Job, new JobError(MediaGenErrorCodes.GeneratorPermanent, "no", Retryable: false), refund: true, lease, deadLetter: false, requireHolder: null, exception: null);
            Assert.Equal(JobStatus.Failed, failed.Job.Status);
            Assert.Equal(InitialBalance, await backend.Ledger.GetBalanceAsync(Owner));
            return failed.Job;
        }

        /// <summary>The owner retries the job, and a worker runs the new run.</summary>
        public async Task RetryAndRunAsync(string jobId)
        {
            await Client.RetryAsync(Owner, jobId);
            var lease = Assert.Single(await backend.Queue.ReceiveAsync(1, TimeSpan.Zero));
            await services.GetRequiredService<JobProcessor>().ProcessAsync(lease, CancellationToken.None);
        }

        public async ValueTask DisposeAsync()
        {
            await services.DisposeAsync();
            await backend.DisposeAsync();
        }
    }

    /// <summary>The backend's job store, running a hook once after the next read, to interleave another request there.</summary>
    private sealed class HookedJobStore(IJobStore inner) : IJobStore
    {
        public Func<Task>? AfterGet { get; set; }

        public ValueTask<JobCreateResult> CreateAsync(GenerationJob job, CancellationToken cancellationToken = default) => inner.CreateAsync(job, cancellationToken);

        public async ValueTask<GenerationJob?> GetAsync(string jobId, CancellationToken cancellationToken = default)
        {
            var job = await inner.GetAsync(jobId, cancellationToken);
            if (AfterGet is { } hook)
            {
                AfterGet = null;
                await hook();
            }

            return job;
        }

        public ValueTask<GenerationJob?> UpdateAsync(GenerationJob job, long expectedVersion, CancellationToken cancellationToken = default) =>
            inner.UpdateAsync(job, expectedVersion, cancellationToken);

        public ValueTask<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken = default) => inner.ListAsync(query, cancellationToken);

        public ValueTask<IReadOnlyList<GenerationJob>> ListStaleAsync(JobStatus status, DateTimeOffset updatedBefore, int maxCount, CancellationToken cancellationToken = default) =>
            inner.ListStaleAsync(status, updatedBefore, maxCount, cancellationToken);

        public ValueTask<IReadOnlyList<GenerationJob>> ListRecentAsync(JobStatus status, int maxCount, CancellationToken cancellationToken = default) =>
            inner.ListRecentAsync(status, maxCount, cancellationToken);

        public ValueTask<bool> DeleteAsync(string jobId, CancellationToken cancellationToken = default) => inner.DeleteAsync(jobId, cancellationToken);

        public ValueTask<bool> DeleteFinishedAsync(string jobId, long expectedVersion, CancellationToken cancellationToken = default) =>
            inner.DeleteFinishedAsync(jobId, expectedVersion, cancellationToken);
    }

    /// <summary>Output storage in memory that runs a hook before a prefix delete, to interleave another request there.</summary>
    private sealed class HookedStorage : IMediaStorage
    {
        private readonly MemoryMediaStorage _inner = new();

        public Func<Task>? BeforeDeletePrefix { get; set; }

        public ConcurrentDictionary<string, byte[]> Objects => _inner.Objects;

        public ValueTask<StoredObject> SaveAsync(string key, Stream content, StorageWriteOptions options, CancellationToken cancellationToken = default) =>
            _inner.SaveAsync(key, content, options, cancellationToken);

        public ValueTask<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default) => _inner.OpenReadAsync(key, cancellationToken);

        public ValueTask<StoredObject?> GetInfoAsync(string key, CancellationToken cancellationToken = default) => _inner.GetInfoAsync(key, cancellationToken);

        public ValueTask<bool> DeleteAsync(string key, CancellationToken cancellationToken = default) => _inner.DeleteAsync(key, cancellationToken);

        public async ValueTask<int> DeletePrefixAsync(string prefix, CancellationToken cancellationToken = default)
        {
            if (BeforeDeletePrefix is { } hook)
            {
                await hook();
            }

            return await _inner.DeletePrefixAsync(prefix, cancellationToken);
        }

        public ValueTask<Uri> GetReadUrlAsync(string key, TimeSpan? lifetime = null, CancellationToken cancellationToken = default) =>
            _inner.GetReadUrlAsync(key, lifetime, cancellationToken);
    }
}
