using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace MediaGen.Benchmarks.Micro;

/// <summary>
/// A short run (3 warm-ups, 3 iterations, one launch) in this process, with allocations measured across every thread,
/// so the whole suite finishes in a few minutes on two cores. Pass <c>--job default</c> or another BDN job for more.
/// </summary>
public sealed class ShortInProcessConfig : ManualConfig
{
    /// <summary>Creates the configuration.</summary>
    public ShortInProcessConfig()
    {
        AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithId("ShortInProcess"));
        AddDiagnoser(MemoryDiagnoser.Default);
    }
}
