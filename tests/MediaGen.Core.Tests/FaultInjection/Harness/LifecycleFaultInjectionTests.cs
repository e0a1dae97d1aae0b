using Microsoft.Extensions.Time.Testing;
using Xunit;
using Xunit.Sdk;

namespace MediaGen.Core.Tests.FaultInjection;

/// <summary>
/// Crashes the lifecycle at each effect point, and then at random ones in a seeded loop, and checks that every job
/// still ends with one paid provider create, exact credits and no stray output. Each backend's test project derives a
/// class that says how to make a fresh backend.
/// </summary>
public abstract class LifecycleFaultInjectionTests
{
    /// <summary>How many random schedules the seeded loop runs.</summary>
    protected virtual int RandomSchedules => 1_000;

    /// <summary>Makes a fresh, isolated backend on <paramref name="time"/>, with leases of <see cref="LifecycleFaultHarness.LeaseDuration"/>.</summary>
    protected abstract ValueTask<FaultBackend> CreateBackendAsync(FakeTimeProvider time, long initialBalance);

    public static TheoryData<JobBehaviour> Behaviours => new(Enum.GetValues<JobBehaviour>());

    [Theory]
    [MemberData(nameof(Behaviours))]
    public async Task Run_CrashBeforeOrAfterEachEffect_EveryInvariantHolds(JobBehaviour behaviour)
    {
        // A run without faults counts the effect points; then one run crashes before, and one after, each of them.
        var baseline = await RunAsync(new FaultPlan(), [behaviour]);

        // A job canceled while it waits has the shortest life: submit, cancel, and its message dropped (three steps where
        // one backend owns the seams).
        var fewest = behaviour == JobBehaviour.CanceledWhilePending ? 3 : 4;
        Assert.True(baseline.Effects >= fewest, $"A {behaviour} job applied only {baseline.Effects} effects: {string.Join(", ", baseline.Trace)}");
        for (var point = 0; point < baseline.Effects; point++)
        {
            foreach (var before in new[] { true, false })
            {
                var plan = before ? new FaultPlan(crashBefore: [point]) : new FaultPlan(crashAfter: [point]);
                try
                {
                    await RunAsync(plan, [behaviour]);
                }
                catch (Exception e)
                {
                    throw new XunitException($"{behaviour}, crash {(before ? "before" : "after")} effect {point} ({baseline.Trace[point]}): {e.Message}");
                }

                Assert.Equal(1, plan.Crashes);
            }
        }
    }

    [Fact]
    public async Task Run_SeededRandomSchedules_EveryInvariantHolds()
    {
        var behaviours = Enum.GetValues<JobBehaviour>();
        var crashes = 0;
        var crashedRuns = 0;
        for (var seed = 1; seed <= RandomSchedules; seed++)
        {
            var random = new Random(seed);
            var jobs = Enumerable.Range(0, random.Next(1, 5)).Select(_ => behaviours[random.Next(behaviours.Length)]).ToArray();
            var points = Enumerable.Range(0, random.Next(0, 4)).Select(_ => random.Next(0, 7 * jobs.Length)).ToArray();
            var plan = new FaultPlan(crashBefore: points.Where((_, i) => i % 2 == 0), crashAfter: points.Where((_, i) => i % 2 == 1));
            try
            {
                await RunAsync(plan, jobs);
                crashes += plan.Crashes;
                crashedRuns += plan.Crashes > 0 ? 1 : 0;
            }
            catch (Exception e)
            {
                throw new XunitException($"Seed {seed} (jobs {string.Join(", ", jobs)}; crash points {string.Join(", ", points)}): {e.Message}");
            }
        }

        // The loop is only worth its time if most schedules really crashed somewhere.
        Assert.True(crashedRuns >= RandomSchedules / 2, $"Only {crashedRuns} of {RandomSchedules} schedules crashed ({crashes} crashes in all).");
    }

    private async Task<FaultPlan> RunAsync(FaultPlan plan, IReadOnlyList<JobBehaviour> jobs)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var backend = await CreateBackendAsync(time, LifecycleFaultHarness.InitialBalance);
        await new LifecycleFaultHarness(backend, time, plan).RunAsync(jobs);
        return plan;
    }
}
